using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Host.Cluster;

namespace HyperSharp.Host.Service;

/// <summary>The ClusterMaintenance gRPC service: drain, failback and moves through this node's <see cref="HyperSharp.Cluster.NodeMaintenance"/>.</summary>
public sealed class ClusterMaintenanceService(ClusterAccess access) : ClusterMaintenance.ClusterMaintenanceBase
{
    public override Task<ClusterNodeInfo> SuspendClusterNode(SuspendClusterNodeRequest request, ServerCallContext context) => FailoverClusterService.Run(access, async cluster =>
        await NodeAsync(cluster, (await cluster.Maintenance.SuspendAsync(request.Name, request.Drain, Wait(request.WaitSeconds)).ConfigureAwait(false)).Name).ConfigureAwait(false));

    public override Task<ClusterNodeInfo> ResumeClusterNode(ResumeClusterNodeRequest request, ServerCallContext context) => FailoverClusterService.Run(access, async cluster =>
    {
        bool failback = request.Failback switch
        {
            "" or "NoFailback" => false,
            "Immediate" => true,
            var other => throw HostErrors.Invalid("failback", $"'{other}' is not a failback: give Immediate or NoFailback"),
        };
        return await NodeAsync(cluster, (await cluster.Maintenance.ResumeAsync(request.Name, failback, Wait(request.WaitSeconds)).ConfigureAwait(false)).Name).ConfigureAwait(false);
    });

    public override Task<ClusterGroup> MoveClusterVmRole(MoveClusterVmRoleRequest request, ServerCallContext context) => FailoverClusterService.Run(access, async cluster =>
    {
        if (request.MigrationType is not ("" or "Live"))
            throw HostErrors.Invalid("migration_type", request.MigrationType == "Quick"
                ? "Quick migration (save, move, restore) is not offered yet: use Live"
                : $"'{request.MigrationType}' is not a migration type: give Live");
        if (string.IsNullOrEmpty(request.Node)) throw HostErrors.Invalid("node", "name the node to move the group to");
        return FailoverClusterService.Group(await cluster.Maintenance.MoveAsync(request.Name, request.Node, Wait(request.WaitSeconds)).ConfigureAwait(false));
    });

    public override Task<ClusterGroup> SetClusterGroupPlacement(SetClusterGroupPlacementRequest request, ServerCallContext context) => FailoverClusterService.Run(access, async cluster =>
        FailoverClusterService.Group(await cluster.Catalog.SetPlacementAsync(request.Name,
            request.SetPreferredOwners ? [.. request.PreferredOwners] : null,
            request.SetAntiAffinityClassNames ? [.. request.AntiAffinityClassNames] : null).ConfigureAwait(false)));

    private static TimeSpan Wait(int seconds) => seconds == 0 ? TimeSpan.FromSeconds(600)
        : TimeSpan.FromSeconds(RequestValidation.Range("wait_seconds", seconds, 1, 3600, "the wait in seconds"));

    private static async Task<ClusterNodeInfo> NodeAsync(HostCluster cluster, string name)
    {
        var snapshot = await cluster.Catalog.ReadAsync().ConfigureAwait(false);
        return FailoverClusterService.Node(snapshot.Node(name)!, snapshot);
    }
}
