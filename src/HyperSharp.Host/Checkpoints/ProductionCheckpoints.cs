using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Checkpoints;

/// <summary>
/// Hyper-V's rules for production checkpoints: one is taken of a running VM whose VSS integration service is on and whose
/// guest agent answers and freezes its file systems; otherwise Production falls back to a standard checkpoint with a
/// warning naming why, and ProductionOnly refuses naming why.
/// </summary>
internal static class ProductionCheckpoints
{
    /// <summary>Whether the VM's checkpoint type asks for production checkpoints (Production is Hyper-V's default).</summary>
    public static bool Wanted(CheckpointType type) => type is CheckpointType.Production or CheckpointType.ProductionOnly or CheckpointType.Unspecified;

    /// <summary>Why the running VM cannot be frozen for one before the worker is asked, or null when it may be.</summary>
    public static string? Obstacle(ManagedVm vm)
    {
        if (!vm.Config.IntegrationServices.Vss) return "its VSS integration service is off";
        if (vm.State == PowerState.Paused) return "it is paused, so its guest agent cannot freeze its file systems";
        if (vm.Guest is not { Heartbeat: GuestIntegrationStatus.Ok })
            return $"its guest agent is not answering (heartbeat: {IntegrationProjection.Heartbeat(vm)}), so nothing froze its file systems";
        return null;
    }

    /// <summary>No production checkpoint can be taken because of <paramref name="reason"/>: refused for ProductionOnly, else a warning and a standard one.</summary>
    public static void FallBack(ManagedVm vm, string reason, List<string> warnings)
    {
        if (vm.Config.CheckpointType == CheckpointType.ProductionOnly)
            throw HostErrors.Precondition($"VM '{vm.Name}' takes production checkpoints only, and {reason}; use -CheckpointType Production (which falls back to a standard checkpoint) or Standard");
        warnings.Add($"VM '{vm.Name}': {reason}, so a standard checkpoint was taken instead of a production one");
    }
}
