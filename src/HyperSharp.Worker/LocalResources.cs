using HyperSharp.Machine;

namespace HyperSharp.Worker;

/// <summary>
/// What a VM built from another host's record (a migration's, or a saved state that came with an imported VM) takes
/// from this host instead: the guest keeps its CID, but its vsock socket is the one in this host's VM folder.
/// </summary>
internal static class LocalResources
{
    /// <summary>Replaces the arriving configuration's host-side resources with those of <paramref name="ours"/> (this worker's own configuration).</summary>
    public static Func<VmConfig, VmConfig> Of(VmConfig ours) => arriving => arriving with
    {
        Vsock = arriving.Vsock is { } theirs && ours.Vsock is { } local ? theirs with { SocketPath = local.SocketPath } : arriving.Vsock,
    };
}
