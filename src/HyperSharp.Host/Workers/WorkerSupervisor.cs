using HyperSharp.Host.Network;
using HyperSharp.Host.Platform;
using HyperSharp.Host.Service;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Platform;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Workers;

/// <summary>
/// The host's worker processes: each launched with a socket made for it, where it takes its adapters' switch ports and
/// says "ready" once its guest runs; then followed through that report channel until it ends, when its ports and cgroup
/// are released and its end reported. A worker found after a host restart is attached on its control socket instead.
/// </summary>
public sealed class WorkerSupervisor(WorkerLauncher launcher, WorkerCgroup cgroup, SwitchManager switches, Action<string> log, CancellationToken stopping)
    : IWorkerSupervisor
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan UnreachableProbeInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The newer guest agent each worker is told to offer at attach (see <see cref="HostServerOptions.AgentUpdateFolder"/>).</summary>
    public string? AgentUpdateFolder { get; init; }

    /// <summary>The activation key each worker signs its guest's activation with (see <see cref="HostServerOptions.ActivationKeyFile"/>).</summary>
    public string? ActivationKeyFile { get; init; }

    public event Action<ManagedVm, WorkerReport>? Reported;
    public event Action<ManagedVm, int, WorkerExitRecord?>? Ended;

    public async Task<WorkerResponse?> LaunchAsync(ManagedVm vm, bool restore, Action<int> launched, CancellationToken cancellationToken)
    {
        WorkerLaunchListener? listener = null;
        System.Diagnostics.Process process;
        try
        {
            if (vm.Folder.RunDirectory != vm.Folder.Path) Directory.CreateDirectory(vm.Folder.RunDirectory); // inside the inventory root, which only the host reaches
            File.Delete(vm.Folder.ExitFile);
            listener = WorkerLaunchListener.Open(vm.Folder.LaunchSocketFile);
            process = launcher.Launch(vm.Folder, restore, reportTo: vm.Folder.LaunchSocketFile, vm.Incoming?.Migration);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            listener?.Dispose();
            throw HostErrors.Internal($"cannot start a worker for VM '{vm.Name}': {e.Message}");
        }
        int pid = process.Id;
        // The child is ours until a host restart: its end is awaited (and it is reaped) here.
        var processExited = process.WaitForExitAsync(CancellationToken.None);
        _ = processExited.ContinueWith(_ => process.Dispose(), TaskScheduler.Default);
        launched(pid);
        cgroup.Place(pid, vm.Config);

        WorkerChannel? channel;
        using (listener) channel = await listener.AcceptAsync(pid, processExited, ConnectTimeout).ConfigureAwait(false);
        if (channel is null)
        {
            // Ended before it connected (a bad command line, no runtime), or hung: either way it ends here.
            if (!processExited.IsCompleted) Posix.Signal(pid, Posix.SigKill);
            await processExited.ConfigureAwait(false);
            Release(vm, pid, reported: null);
            return null;
        }
        await AttachAsync(vm, channel, cancellationToken).ConfigureAwait(false);
        var ready = new TaskCompletionSource<WorkerResponse?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Supervise(vm, pid, channel, processExited, ready);
        return await ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<WorkerResponse?> AdoptAsync(ManagedVm vm, int pid, CancellationToken cancellationToken)
    {
        WorkerChannel channel;
        try { channel = await WorkerChannel.ConnectAsync(vm.Folder.SocketFile, cancellationToken).ConfigureAwait(false); }
        catch (WorkerException e)
        {
            // Only a worker that is ending has no socket: its process, not a channel, tells when it has gone.
            log($"VM '{vm.Name}': {e.Message}; waiting for its process to end");
            WatchUnreachable(vm, pid);
            return null;
        }
        await AttachAsync(vm, channel, cancellationToken).ConfigureAwait(false);
        var ready = new TaskCompletionSource<WorkerResponse?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Supervise(vm, pid, channel, processExited: null, ready);
        return await ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<WorkerResponse> SendAsync(ManagedVm vm, WorkerRequest request, CancellationToken cancellationToken, int? descriptor = null) =>
        new WorkerClient(vm.Folder.SocketFile).SendAsync(request, cancellationToken, descriptor);

    public void Kill(int pid) => Posix.Signal(pid, Posix.SigKill);

    /// <summary>
    /// Attaches the host to a worker on <paramref name="channel"/>: every adapter's label, and a port on its switch for each
    /// one whose switch runs. The host's copies of the worker's ends close once sent.
    /// </summary>
    private async Task AttachAsync(ManagedVm vm, WorkerChannel channel, CancellationToken cancellationToken)
    {
        var plugs = new List<WorkerAdapterPlug>();
        var ends = new List<Networking.Links.FileDescriptorLink>();
        try
        {
            foreach (var adapter in vm.Config.NetworkAdapters)
            {
                var target = adapter.SwitchId is { } id ? switches.FindById(id) : null;
                if (adapter.SwitchId is not null && target is not { Running: not null })
                    log($"VM '{vm.Name}': adapter '{adapter.Name}' stays disconnected: its switch is gone or not running");
                bool port = target is { Running: not null };
                if (port) ends.Add(switches.Attach(adapter.Id, target!, NetworkProjection.Port(adapter)));
                plugs.Add(new WorkerAdapterPlug(adapter.Id, adapter.GuestLabel(), port));
            }
            await channel.AttachAsync(plugs, [.. ends.Select(e => e.Descriptor)], new AttachExtras(AgentUpdateFolder, ActivationKeyFile), cancellationToken).ConfigureAwait(false);
        }
        catch (WorkerException e)
        {
            // The worker is going; the end of its channel tells the supervision, which frees the ports.
            log($"VM '{vm.Name}': {e.Message}");
        }
        finally
        {
            foreach (var end in ends) end.Dispose();
        }
    }

    /// <summary>
    /// Follows a worker through its report channel: "ready" completes <paramref name="ready"/>, what it reports of its own
    /// accord is passed on, and the channel's end — the process's end — releases it. A host that stops leaves it running.
    /// </summary>
    private void Supervise(ManagedVm vm, int pid, WorkerChannel channel, Task? processExited, TaskCompletionSource<WorkerResponse?> ready) => _ = Task.Run(async () =>
    {
        WorkerExitRecord? reported = null;
        try
        {
            while (await channel.ReadAsync(stopping).ConfigureAwait(false) is { } report)
            {
                switch (report.Kind)
                {
                    case WorkerReportKinds.Ready:
                        vm.Adapters = report.Status?.Adapters ?? [];
                        vm.Guest = report.Status?.Integration;
                        ready.TrySetResult(report.Status ?? new WorkerResponse());
                        break;
                    case WorkerReportKinds.Integration:
                        vm.Guest = report.Integration;
                        Reported?.Invoke(vm, report);
                        break;
                    case WorkerReportKinds.Listening or WorkerReportKinds.Migrating:
                        Migration.MigrationReports.Take(vm, report);
                        break;
                    case WorkerReportKinds.Exited:
                        reported = new WorkerExitRecord { Pid = pid, Reason = report.Reason ?? "", Saved = report.Saved };
                        break;
                    default:
                        Reported?.Invoke(vm, report);
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            channel.Dispose();
            return; // the host stops; the worker goes on, and the next host attaches to it
        }
        channel.Dispose();
        // Off means the process is gone (its disks closed), not just that it said goodbye.
        if (processExited is not null) await processExited.ConfigureAwait(false);
        Release(vm, pid, reported);
        ready.TrySetResult(null);
    });

    /// <summary>
    /// A worker found running that does not answer on its socket (it is ending): waits for its process to go. The one
    /// place left that looks at /proc in a loop; a worker that answers is followed through its channel.
    /// </summary>
    private void WatchUnreachable(ManagedVm vm, int pid) => _ = Task.Run(async () =>
    {
        try
        {
            for (int misses = 0; misses < 3; await Task.Delay(UnreachableProbeInterval, stopping).ConfigureAwait(false))
            {
                if (ProcessProbe.IsWorkerFor(pid, vm.Folder.Path)) misses = 0;
                else if (!ProcessProbe.IsAlive(pid)) break;
                else misses++;
            }
        }
        catch (OperationCanceledException) { return; }
        Release(vm, pid, reported: null);
    });

    /// <summary>
    /// The worker is gone: its ports close before the VM shows Off (nobody sees an Off VM holding switch ports; it cannot
    /// start again meanwhile, it still shows the dead worker), then its end is reported, then its cgroup goes.
    /// </summary>
    private void Release(ManagedVm vm, int pid, WorkerExitRecord? reported)
    {
        if (!vm.IsWorker(pid)) return;
        FreePorts(vm, switches);
        vm.Guest = null;
        Ended?.Invoke(vm, pid, reported);
        cgroup.Remove(vm.Id);
    }

    /// <summary>Its adapters' ports close (the switch forgets their addresses).</summary>
    public static void FreePorts(ManagedVm vm, SwitchManager switches)
    {
        foreach (var adapter in vm.Config.NetworkAdapters) switches.Detach(adapter.Id);
        vm.Adapters = [];
    }
}
