using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service;

/// <summary>What the host API's service classes share: how their operations run, and the answers several of them give.</summary>
internal static class ServiceCalls
{
    /// <summary>
    /// Operations that change a VM run to the end even if the client goes away: a start abandoned half-way
    /// would leave a worker the VM's state does not show.
    /// </summary>
    public static readonly CancellationToken Detached = CancellationToken.None;

    /// <summary>The VM as the API shows it, once the call's operation is done.</summary>
    public static Task<Vm> Project(VmManager manager, ManagedVm vm, ServerCallContext context) =>
        VmProjection.ToVmAsync(vm, manager.Switches, context.CancellationToken);

    /// <summary>Get-VMHost's answer (and Set-VMHost's).</summary>
    public static HostInfo HostInfoOf(VmManager manager, HostServerOptions options) => new HostInfo
    {
        ComputerName = Environment.MachineName,
        LogicalProcessorCount = Environment.ProcessorCount,
        MemoryCapacityBytes = Platform.HostMemory.TotalBytes(),
        VirtualMachinePath = manager.InventoryRoot,
        VirtualHardDiskPath = manager.VirtualHardDiskPath,
        DefaultBackend = "auto",
        BackendReason = options.BackendReason,
        Version = typeof(VmHostService).Assembly.GetName().Version?.ToString() ?? "0.0",
        MaximumProcessorsPerVm = RequestValidation.MaxProcessors,
        MaximumMemoryPerVmBytes = RequestValidation.MaxMemoryBytes,
        NestedVirtualizationSupported = options.NestedVirtualizationSupported,
    }.WithMigration(manager.HostSettings.Current.Migration);
}
