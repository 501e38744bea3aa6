using HyperSharp.Host.Access;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>
/// The integration services of the host's VMs: each service's setting (Enable-/Disable-VMIntegrationService, kept in
/// vm.json) and what needs the guest's agent — Copy-VMFile here, the clean shutdown in <see cref="VmLifecycle.StopAsync"/>.
/// What the agent is doing comes from the worker's reports (<see cref="ManagedVm.Guest"/>), never from asking.
/// </summary>
public sealed class VmIntegration(VmConfigurationStore configuration, VmLifecycle lifecycle, PathAccess access, Action<string> log)
{
    /// <summary>The exact service name for <paramref name="name"/> (any case); a name no service has is refused, listing them.</summary>
    public static string ServiceName(string parameter, string? name) =>
        IntegrationServiceSettings.Names.FirstOrDefault(n => string.Equals(n, name?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw HostErrors.Invalid(parameter, $"'{name}' is not an integration service; the services are: {string.Join(", ", IntegrationServiceSettings.Names)}");

    /// <summary>
    /// Enable-/Disable-VMIntegrationService: written to vm.json, and a running worker told at once (the clock is set
    /// when Time Synchronization comes on; the guest's facts stop or start with Key-Value Pair Exchange). A worker that
    /// cannot be told keeps the old settings until the VM's next start, and the host log says so.
    /// </summary>
    public async Task SetAsync(ManagedVm vm, string name, bool enabled, CancellationToken cancellationToken)
    {
        string service = ServiceName("name", name);
        using var _ = lifecycle.Begin(vm, "reconfiguring");
        configuration.Commit(vm, vm.Config with { IntegrationServices = vm.Config.IntegrationServices.With(service, enabled) });
        if (vm.WorkerPid <= 0 || vm.State is not (PowerState.Running or PowerState.Paused)) return;
        try { await lifecycle.Workers.SendAsync(vm, new WorkerRequest { Op = WorkerOps.SetIntegration, IntegrationServices = vm.Config.IntegrationServices }, cancellationToken).ConfigureAwait(false); }
        catch (WorkerException e) { log($"VM '{vm.Name}': its worker did not take the integration services' change ({e.Message}); it applies at the next start"); }
    }

    /// <summary>
    /// `hyper vm exec`: starts <paramref name="arguments"/> in the running guest through its agent and returns the worker's
    /// connection, which carries the command's <see cref="ExecFrames"/> from then on (the caller owns it). With
    /// <paramref name="user"/> the agent runs it as that guest account once it has checked <paramref name="password"/>.
    /// </summary>
    public async Task<System.Net.Sockets.Socket> OpenExecAsync(ManagedVm vm, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        string? user = null, string? password = null)
    {
        if (arguments.Count == 0 || string.IsNullOrEmpty(arguments[0])) throw HostErrors.Invalid("arguments", "the command to run is missing");
        if (vm.State != PowerState.Running) throw HostErrors.WrongState(vm.Name, vm.State, "run a command in");
        if (vm.Guest is not { Heartbeat: GuestIntegrationStatus.Ok })
            throw HostErrors.Precondition($"cannot run a command in VM '{vm.Name}': its guest agent is not answering (heartbeat: {IntegrationProjection.Heartbeat(vm)}); is hs-agent running in the guest?");
        try { return await vm.Worker.OpenStreamAsync(new WorkerRequest { Op = WorkerOps.Exec, Arguments = [.. arguments], User = user, Password = password }, cancellationToken).ConfigureAwait(false); }
        catch (WorkerException e) { throw HostErrors.Precondition($"VM '{vm.Name}': {e.Message}"); }
    }

    /// <summary>
    /// Copy-VMFile -FileSource Host: <paramref name="source"/> (a file <paramref name="client"/> may read) to the absolute
    /// <paramref name="destination"/> in the running guest, through its agent. Refused as Hyper-V refuses it when the
    /// Guest Service Interface is off. Not under the VM's operation lock: a long copy must not hold up Stop-VM.
    /// </summary>
    public async Task<long> CopyFileAsync(ManagedVm vm, string? source, string? destination, bool createFullPath, bool force, ClientIdentity client,
        CancellationToken cancellationToken)
    {
        string from = new RequestPaths(access, client).ReadableFile("source_path", source);
        if (string.IsNullOrEmpty(destination) || !destination.StartsWith('/'))
            throw HostErrors.Invalid("destination_path", $"'{destination}' must be an absolute path in the guest");
        if (vm.State != PowerState.Running) throw HostErrors.WrongState(vm.Name, vm.State, "copy a file into");
        if (!vm.Config.IntegrationServices.GuestServiceInterface)
            throw HostErrors.Precondition($"Failed to initiate copying files to the guest: the Guest Service Interface integration service is disabled "
                + $"for VM '{vm.Name}'. Enable it first (Enable-VMIntegrationService -VMName '{vm.Name}' -Name 'Guest Service Interface').");
        if (vm.Guest is not { Heartbeat: GuestIntegrationStatus.Ok })
            throw HostErrors.Precondition($"Failed to initiate copying files to the guest: the guest agent of VM '{vm.Name}' is not answering "
                + $"(heartbeat: {IntegrationProjection.Heartbeat(vm)}); is hs-agent running in the guest?");
        long bytes = new FileInfo(from).Length;
        var request = new WorkerRequest { Op = WorkerOps.CopyFile, Path = from, Destination = destination, CreateFullPath = createFullPath, Force = force };
        try { await lifecycle.Workers.SendAsync(vm, request, cancellationToken).ConfigureAwait(false); }
        catch (WorkerException e) { throw HostErrors.Precondition($"Failed to copy the source file '{from}' to the destination '{destination}' in VM '{vm.Name}': {e.Message}"); }
        return bytes;
    }
}
