namespace HyperSharp.Api.V1;

public static partial class VmHost
{
    /// <summary>
    /// The VmHost client with the host's other services on the same channel (hypersharp_host.proto has one service per
    /// area): <c>client.Networking.AddNetworkAdapterAsync(...)</c>, <c>client.Checkpoints.CreateCheckpointAsync(...)</c>.
    /// </summary>
    public partial class VmHostClient
    {
        public Networking.NetworkingClient Networking => new(CallInvoker);
        public LiveMigration.LiveMigrationClient LiveMigration => new(CallInvoker);
        public Checkpoints.CheckpointsClient Checkpoints => new(CallInvoker);
        public GuestIntegration.GuestIntegrationClient GuestIntegration => new(CallInvoker);
        public ScsiControllers.ScsiControllersClient ScsiControllers => new(CallInvoker);
        public Exports.ExportsClient Exports => new(CallInvoker);
    }
}
