using HyperSharp.Api.V1;
using HyperSharp.Host.Migration;
using HyperSharp.Host.Platform;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Web;

/// <summary>
/// What the switch manager, Move and the usage charts ask of the host, in one place: the host's service layer is being
/// reshaped (issue 12), and these are the calls to adapt when it is. Each is the call the gRPC service makes for the same
/// cmdlet, so the console gets the host's own checks and messages.
/// </summary>
internal sealed class HostCalls(VmManager manager, VmMigrations migrations)
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Operations run to the end even if the browser goes away (as the gRPC service does).</summary>
    private static readonly CancellationToken Detached = CancellationToken.None;

    public VmManager Manager => manager;

    // Get-/New-/Set-/Rename-/Remove-VMSwitch.
    public List<VmSwitch> Switches() => manager.Networking.ListSwitches(null, SwitchType.Unspecified);

    public VmSwitch CreateSwitch(NewSwitch spec) => manager.Networking.CreateSwitch(spec);

    public VmSwitch UpdateSwitch(string id, SwitchChange change) => manager.Networking.UpdateSwitch(FindSwitch(id), change);

    public Task RemoveSwitchAsync(string id) => manager.Networking.RemoveSwitchAsync(FindSwitch(id), Detached);

    private Host.Network.HostSwitch FindSwitch(string id) => manager.Switches.Find(new SwitchRef { Id = id });

    /// <summary>The host's network interfaces an External switch may bridge to (what New-VMSwitch -NetAdapterName names), ours excluded.</summary>
    public static List<string> HostAdapters() => [.. System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
        .Where(i => i.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback && !i.Name.StartsWith("hs-", StringComparison.Ordinal))
        .Select(i => i.Name).Order(StringComparer.Ordinal)];

    // Move-VM and Compare-VM -DestinationHost.
    public Task<MoveOutcome> MoveAsync(ManagedVm vm, string destination) => migrations.MoveAsync(vm, destination, Detached);

    public Task<List<string>> CompareAsync(ManagedVm vm, string destination) => migrations.CompareAsync(vm, destination, Detached);

    // The usage sampler's looks at a running VM: its worker's CPU time, and the memory its worker says is assigned.
    public List<ManagedVm> RunningVms() => [.. manager.List(null).Where(vm => vm.WorkerPid > 0 && vm.State is PowerState.Running or PowerState.Paused)];

    public static TimeSpan? WorkerCpuTime(ManagedVm vm) => vm.WorkerPid > 0 ? ProcessProbe.CpuTime(vm.WorkerPid) : null;

    /// <summary>The memory assigned to the VM now, or null when its worker does not answer within 2 s.</summary>
    public static async Task<long?> MemoryAssignedAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StatusTimeout);
            return (await vm.Worker.SendAsync(new WorkerRequest { Op = WorkerOps.Status }, timeout.Token).ConfigureAwait(false)).MemoryAssignedBytes;
        }
        catch (Exception e) when (e is WorkerException or OperationCanceledException or IOException) { return null; }
    }
}
