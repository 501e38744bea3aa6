using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using HyperSharp.Hypervisor;
using HyperSharp.Integration;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Platform;
using HyperSharp.Inventory.Storage;
using HyperSharp.Inventory.Workers;
using HyperSharp.Machine;
using HyperSharp.Machine.Memory;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Interop;

namespace HyperSharp.Worker;

/// <summary>
/// `hyper worker`: runs the one VM of a folder in this process until it stops, and serves the host's
/// control requests on the folder's socket. Launched by a host, it first connects to the socket the host named and
/// takes its adapters' labels and switch ports there (so the VM is built with them), then reports on that connection
/// (<see cref="WorkerReport"/>): ready, state changes, exited. When the host asks for a restore, the folder's saved state is
/// restored (and then deleted: a running VM has no saved state); one missing or damaged is an error that
/// keeps the VM Saved and names the file — never a silent cold boot. On the way out it records why in exit.json; a worker that dies
/// without one crashed, and the host says so.
/// </summary>
public sealed class WorkerRuntime
{
    private static readonly TimeSpan DiskEjectTimeout = TimeSpan.FromSeconds(30);
    private const int DescriptorTimeoutMs = 5000;
    private readonly VmFolder _folder;
    private readonly VmConfiguration _config;
    private readonly IHypervisor _hypervisor;
    private readonly TextWriter _log;
    private readonly ConsoleHub _console = new();
    private readonly WorkerAdapters _adapters;
    private readonly WorkerStorageQos _storageQos;
    private readonly WorkerReports _reports = new();
    private readonly string? _reportTo;
    private string? _agentUpdateFolder, _activationKeyFile; // from the host's attach: the newer guest agent to offer, the activation key
    private readonly SemaphoreSlim _operation = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private MachineSession? _session;
    private WorkerIntegration? _integration;
    private readonly IncomingMigration? _incoming;
    private Migration.MigrationListener? _arrival; // a VM arriving by live migration: where its source connects
    private volatile bool _restorePending; // asked to restore and not yet restored: an end before then leaves the VM Saved
    private int _answering; // requests being answered: the process waits for them before it exits (a save's answer comes after the VM stopped)
    private int _viewers;   // console viewers attached: each gets the last output before the process exits

    private WorkerRuntime(VmFolder folder, VmConfiguration config, IHypervisor hypervisor, bool restore, string? reportTo, TextWriter log, IncomingMigration? incoming)
    {
        _incoming = incoming;
        _reportTo = reportTo;
        _restorePending = restore;
        _folder = folder;
        _config = config;
        _hypervisor = hypervisor;
        _log = log;
        _adapters = new WorkerAdapters(config.NetworkAdapters);
        _storageQos = new WorkerStorageQos(config.Disks, line => _log.WriteLine(line));
    }

    private MachineSession Session => _session ?? throw new InvalidOperationException("the VM is not running (starting)");

    /// <summary>Runs the VM in <paramref name="folderPath"/>, reporting to the host listening on <paramref name="reportTo"/> if one is named; returns the process exit code.</summary>
    public static int Run(string folderPath, bool restore, string? reportTo, Func<string, IHypervisor> chooseBackend, TextWriter log, IncomingMigration? incoming = null)
    {
        var folder = new VmFolder(Path.GetFullPath(folderPath));
        var config = VmInventory.ReadConfiguration(folder.ConfigFile)
            ?? throw new FileNotFoundException($"{folder.ConfigFile}: no VM configuration here");
        IHypervisor hypervisor;
        try { hypervisor = chooseBackend(config.Backend); }
        catch (Exception e)
        {
            // Say why in the folder too: the host reports it as the reason the VM did not start.
            InventoryJson.WriteAtomic(folder.ExitFile, new WorkerExitRecord { Pid = Environment.ProcessId, Saved = restore, Reason = $"no backend for the VM: {e.Message}" });
            throw;
        }
        try
        {
            var worker = new WorkerRuntime(folder, config, hypervisor, restore, reportTo, log, incoming);
            WorkerExitRecord exit;
            using (worker._adapters) exit = worker.RunToEnd();
            InventoryJson.WriteAtomic(folder.ExitFile, exit with { Pid = Environment.ProcessId });
            // After exit.json: a host that hears this and one that finds the file later learn the same.
            worker._reports.Send(new WorkerReport { Kind = WorkerReportKinds.Exited, Reason = exit.Reason, Saved = exit.Saved });
            log.WriteLine($"worker: {exit.Reason}");
            return 0;
        }
        finally { (hypervisor as IDisposable)?.Dispose(); }
    }

    private WorkerExitRecord RunToEnd()
    {
        Socket listener;
        try { listener = Listen(); }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            return new WorkerExitRecord { Saved = _restorePending, Reason = $"the worker cannot serve {_folder.SocketFile}: {e.Message}" };
        }
        if (_incoming is not null)
        {
            try
            {
                _arrival = Migration.MigrationListener.Open(_incoming.ListenAddress, _incoming.TlsDirectory);
                _log.WriteLine($"worker: waiting for the migrating VM on {_incoming.ListenAddress} port {_arrival.Port}");
                // Compiled while the source host still sets its side up: a small guest's pre-copy is too short to hide it, and the pause would pay for it.
                _ = HyperSharp.Machine.Migration.StateCodeWarmup.Start(_hypervisor.GetType());
            }
            catch (Exception e) when (e is SocketException or IOException or ArgumentException or System.Security.Cryptography.CryptographicException)
            {
                listener.Dispose();
                return new WorkerExitRecord { Reason = $"the worker cannot listen for the migrating VM on {_incoming.ListenAddress}: {e.Message}" };
            }
        }
        if (_reportTo is not null)
        {
            // The host's ports and labels before the VM is built: its adapters come up plugged in, no round trip later.
            try { AttachLaunchingHost(_reportTo); }
            catch (Exception e) when (e is SocketException or IOException or InvalidDataException or System.Text.Json.JsonException or InvalidOperationException or TimeoutException)
            {
                listener.Dispose();
                return new WorkerExitRecord { Saved = _restorePending, Reason = $"the worker cannot take its start from the host at {_reportTo}: {e.Message}" };
            }
        }
        _session ??= CreateSession();
        try
        {
            _integration = new WorkerIntegration(_config.Id, _config.Name, _folder.VsockFile, _config.IntegrationServices, ReportIntegration, _log.WriteLine);
            _integration.SetAgentUpdate(_agentUpdateFolder);
            _integration.SetActivationKey(_activationKeyFile);
        }
        catch (IOException e) { _log.WriteLine($"worker: no integration services: {e.Message}"); }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;
            Session.TurnOff("the worker was asked to stop (SIGTERM)");
        });
        var accepting = AcceptAsync(listener);
        try
        {
            return RunMachine();
        }
        catch (Exception e)
        {
            _log.WriteLine($"worker: the VM failed: {e}");
            // A restore that failed leaves the saved state in place: the VM is still Saved, not lost.
            return new WorkerExitRecord { Saved = _restorePending, Reason = $"the worker failed: {e.Message}" };
        }
        finally
        {
            var deadline = Environment.TickCount64 + 2000;
            while (Volatile.Read(ref _answering) > 0 && Environment.TickCount64 < deadline) Thread.Sleep(5);
            _stopping.Cancel();
            // Attached consoles get the guest's last output before the process ends (each drains within a second).
            deadline = Environment.TickCount64 + 1500;
            while (Volatile.Read(ref _viewers) > 0 && Environment.TickCount64 < deadline) Thread.Sleep(5);
            listener.Dispose();
            _integration?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            try { File.Delete(_folder.SocketFile); } catch (IOException) { }
            _ = accepting;
        }
    }

    private MachineSession CreateSession()
    {
        var machine = MachineConfiguration.From(_config, _console.Output, line => _log.WriteLine($"vm: {line}"), _adapters.Attachments(), _folder.VsockFile);
        var arrival = _arrival;
        return new MachineSession(_hypervisor, machine)
        {
            Incoming = arrival is null ? null : config => Migration.WorkerMigration.Receive(arrival, _hypervisor, config, _adapters.ConnectSaved),
            RestoreFrom = _restorePending ? _folder.SavedStateFile : null,
            RestoredDiskPath = CheckpointDisks.RestoredPath(_config),
            Reconnect = _adapters.ConnectSaved,
            // Hot-added disks stay, in their slots; every adapter (hot-added ones too) is plugged into the port it had.
            // A resize while it ran holds too: the guest boots again with the memory it had.
            AfterReset = (vm, config) => MachineConfiguration.WithMemory(config, _config.Memory, MemoryResize.Assigned(vm) / MemoryResize.Granularity * MemoryResize.Granularity)
                with { Disks = vm.DiskAttachments, ScsiControllers = vm.Scsi.Attachments(), NetworkAdapters = _adapters.Attachments() },
            ForSave = (vm, config) => config with { NetworkAdapters = _adapters.Attachments(vm) },
            MachineStarted = (vm, start) =>
            {
                _adapters.Bind(vm);
                _storageQos.ApplyAll(vm);
                if (_config.Processor.EnableHostResourceProtection)
                    vm.ResourceProtection = new HostResourceProtection(_config.Processor.Count, ReportThrottled);
                if (start == MachineStart.RebootedAfterReset)
                {
                    _log.WriteLine("worker: the guest reset; starting it again");
                    _reports.Send(new WorkerReport { Kind = WorkerReportKinds.Reset });
                }
                if (start != MachineStart.Restored) return;
                // A running VM has no saved state: the file goes once the VM is back in memory.
                File.Delete(_folder.SavedStateFile);
                Posix.FsyncDirectory(_folder.Path);
                _restorePending = false;
            },
        };
    }

    private WorkerExitRecord RunMachine()
    {
        // The host looked at the files just before launching; one swapped since (a FIFO for the kernel) must not hang this process.
        if (StartCheck.Problem(_config, arriving: _incoming is not null) is { } problem) return new WorkerExitRecord { Saved = _restorePending, Reason = $"cannot start: {problem}" };
        var end = Session.Run();
        return new WorkerExitRecord { Saved = end.Kind == SessionEndKind.Saved, Reason = end.Reason };
    }

    private Socket Listen()
    {
        try { File.Delete(_folder.SocketFile); } catch (IOException) { }
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(_folder.SocketFile));
        Posix.SetMode(_folder.SocketFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        listener.Listen(16);
        return listener;
    }

    private async Task AcceptAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket connection;
            try { connection = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException) { return; }
            _ = Task.Run(() => ServeAsync(connection));
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        using (connection)
        {
            try
            {
                var line = await LineReader.ReadLineAsync(connection, _stopping.Token).ConfigureAwait(false);
                if (line is null) return;
                var request = WorkerJson.Parse<WorkerRequest>(line);
                if (request.Op == WorkerOps.Exec)
                {
                    await ExecAsync(connection, request).ConfigureAwait(false);
                    return;
                }
                if (request.Op == WorkerOps.Attach)
                {
                    // A host that restarted: the connection becomes the report channel, held open until that host goes.
                    await AttachAsync(connection, request).ConfigureAwait(false);
                    return;
                }
                WorkerResponse response;
                Interlocked.Increment(ref _answering);
                try
                {
                    try
                    {
                        int? descriptor = request.Descriptor ? DescriptorPassing.Receive(connection.Handle, DescriptorTimeoutMs) : null;
                        response = await HandleAsync(request, descriptor).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or UnauthorizedAccessException or HypervisorException or HyperSharp.Vhdx.VirtualDiskException or ArgumentException)
                    {
                        response = new WorkerResponse { Ok = false, Error = e.Message };
                    }
                    await connection.SendAsync(Encoding.UTF8.GetBytes(WorkerJson.Line(response)), SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                }
                finally { Interlocked.Decrement(ref _answering); }
                if (request.Op == WorkerOps.Console && response.Ok)
                {
                    Interlocked.Increment(ref _viewers);
                    try { await _console.ServeAsync(connection, SendInputAsync, _stopping.Token).ConfigureAwait(false); }
                    finally { Interlocked.Decrement(ref _viewers); }
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or InvalidDataException or System.Text.Json.JsonException) { }
        }
    }

    /// <summary>
    /// Launched by a host: connects to the socket it listens on and takes the attach request there (adapters' labels and
    /// ports) before anything is built. The connection reports "ready" once the VM runs, and what follows.
    /// </summary>
    private void AttachLaunchingHost(string reportTo)
    {
        var channel = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            channel.Connect(new UnixDomainSocketEndPoint(reportTo));
            using var reading = new CancellationTokenSource(TimeSpan.FromMilliseconds(DescriptorTimeoutMs));
            var line = LineReader.ReadLineAsync(channel, reading.Token).GetAwaiter().GetResult()
                ?? throw new InvalidDataException("the host closed the connection before attaching");
            var request = WorkerJson.Parse<WorkerRequest>(line);
            if (request.Op != WorkerOps.Attach) throw new InvalidDataException($"the host sent '{request.Op}' where 'attach' comes first");
            TakePlugs(channel, request, vm: null);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
        _session = CreateSession(); // after the plugs: the machine is built with the ports plugged in
        // A VM arriving by live migration: the host learns the port at once, long before the VM runs ("ready").
        if (_arrival is not null) _reports.Attach(channel, new WorkerReport { Kind = WorkerReportKinds.Listening, Port = _arrival.Port });
        _ = Task.Run(() => HoldReportChannelAsync(channel));
    }

    /// <summary>The attach request of a host that restarted: labels and fresh ports for the running VM, then reports on this connection.</summary>
    private async Task AttachAsync(Socket channel, WorkerRequest request)
    {
        await _operation.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try { TakePlugs(channel, request, _session?.Machine); }
        finally { _operation.Release(); }
        await HoldReportChannelAsync(channel).ConfigureAwait(false);
    }

    /// <summary>Receives the ports the attach request announces (in its order) and plugs each adapter in, or unplugs it.</summary>
    private void TakePlugs(Socket channel, WorkerRequest request, VirtualMachine? vm)
    {
        (_agentUpdateFolder, _activationKeyFile) = (request.AgentUpdateFolder, request.ActivationKeyFile);
        _integration?.SetAgentUpdate(_agentUpdateFolder);
        _integration?.SetActivationKey(_activationKeyFile);
        foreach (var plug in request.Plugs ?? [])
        {
            int? port = plug.Port ? DescriptorPassing.Receive(channel.Handle, DescriptorTimeoutMs) : null;
            try { _adapters.Plug(vm, plug, port); }
            catch (InvalidOperationException e) { _log.WriteLine($"worker: {e.Message}"); }
        }
    }

    /// <summary>
    /// Reports "ready" on <paramref name="channel"/> once the VM runs, makes it the report channel, and keeps it until the host
    /// closes its end. Never closed here: the end of this process closes it, which tells the host the worker is gone.
    /// </summary>
    private async Task HoldReportChannelAsync(Socket channel)
    {
        var session = Session;
        await session.WhenRunning().ConfigureAwait(false);
        // A session that ended before it ran says why in its "exited" report, sent on the channel attached here.
        _reports.Attach(channel, session.Machine is null ? null : new WorkerReport { Kind = WorkerReportKinds.Ready, Status = Status() });
        _integration?.ReportAgain();
        var buffer = new byte[64];
        try { while (await channel.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false) > 0) { } }
        catch (SocketException) { }
        _reports.Detach(channel);
    }

    /// <summary>Carries out one request; <paramref name="descriptor"/> (a switch port) is the handler's to keep, or closed here.</summary>
    private async Task<WorkerResponse> HandleAsync(WorkerRequest request, int? descriptor)
    {
        if (request.Op is WorkerOps.Status or WorkerOps.Console)
        {
            if (descriptor is int unused) DescriptorPassing.Close(unused);
            return Status();
        }
        if (request.Op == WorkerOps.Migrate)
        {
            if (descriptor is int unused) DescriptorPassing.Close(unused);
            return await MigrateAsync(request).ConfigureAwait(false);
        }
        if (request.Op == WorkerOps.SetMemory)
        {
            if (descriptor is int unused) DescriptorPassing.Close(unused);
            return await ResizeMemoryAsync(request).ConfigureAwait(false);
        }
        if (request.Op == WorkerOps.SetIntegration)
        {
            if (descriptor is int unused) DescriptorPassing.Close(unused);
            Integration().Apply(request.IntegrationServices ?? throw new InvalidOperationException("set-integration needs the services"));
            return Status();
        }
        if (request.Op is WorkerOps.GuestShutdown or WorkerOps.CopyFile)
        {
            if (descriptor is int unused) DescriptorPassing.Close(unused);
            await AskGuestAgentAsync(request).ConfigureAwait(false);
            return Status();
        }
        await _operation.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var session = Session;
            var vm = session.Machine ?? throw new InvalidOperationException("the VM is not running (starting or stopping)");
            if (request.Op.EndsWith("-nic", StringComparison.Ordinal))
            {
                await HandleAdapterAsync(vm, request, descriptor).ConfigureAwait(false);
                descriptor = null; // the adapter owns it now
                return Status();
            }
            switch (request.Op)
            {
                case WorkerOps.Pause:
                    session.Pause();
                    _reports.Send(new WorkerReport { Kind = WorkerReportKinds.Paused });
                    break;
                case WorkerOps.Resume:
                    session.Resume();
                    _reports.Send(new WorkerReport { Kind = WorkerReportKinds.Resumed });
                    break;
                case WorkerOps.Save:
                    session.Save(_folder.SavedStateFile);
                    Posix.FsyncDirectory(_folder.Path);
                    break;
                case WorkerOps.Checkpoint when request.Freeze:
                    return await ProductionCheckpoint.TakeAsync(session, _integration,
                        request.Children ?? throw new InvalidOperationException("checkpoint needs the disks' new children"), Status(), _log.WriteLine).ConfigureAwait(false);
                case WorkerOps.Checkpoint:
                    var pause = session.Checkpoint(request.Path ?? throw new InvalidOperationException("checkpoint needs a state file path"),
                        request.Children ?? throw new InvalidOperationException("checkpoint needs the disks' new children"));
                    Posix.FsyncDirectory(Path.GetDirectoryName(request.Path)!);
                    _log.WriteLine($"worker: checkpoint in {request.Path}; the guest was paused {pause.TotalMilliseconds:0.0} ms");
                    return Status() with { PauseMs = pause.TotalMilliseconds };
                case WorkerOps.Shutdown:
                    session.RequestShutdown();
                    break;

                case WorkerOps.TurnOff:
                    session.TurnOff();
                    break;
                case WorkerOps.Reset:
                    // Answered once the rebuilt machine runs, so what the host asks next reaches it and not the one torn down.
                    await session.ResetAsync().ConfigureAwait(false);
                    break;
                case WorkerOps.AddDisk:
                    _log.WriteLine($"worker: hot-added {request.Path} {WorkerDisks.Add(vm, request)}");
                    if (request.Label is { } added && (request.MaximumIops != 0 || request.MinimumIops != 0))
                        _storageQos.Set(vm, added, request.MaximumIops, request.MinimumIops);
                    break;
                case WorkerOps.DescribeDisk:
                    return Status() with { Disk = WorkerDisks.Describe(vm, request) };
                case WorkerOps.ResizeDisk:
                    var resized = WorkerDisks.Resize(vm, request);
                    _log.WriteLine($"worker: resized {request.Path} to {resized.Capacity} bytes");
                    return Status() with { Disk = resized };
                case WorkerOps.SetDiskQos:
                    _storageQos.Set(vm, request.Label ?? throw new InvalidOperationException("set-disk-qos needs the drive's name"), request.MaximumIops, request.MinimumIops);
                    break;
                case WorkerOps.RemoveDisk:
                    _log.WriteLine($"worker: removed {request.Path} from {await WorkerDisks.RemoveAsync(vm, request, DiskEjectTimeout).ConfigureAwait(false)}");
                    break;
                default:
                    throw new InvalidOperationException($"unknown request '{request.Op}'");
            }
            return Status();
        }
        finally
        {
            if (descriptor is int left) DescriptorPassing.Close(left);
            _operation.Release();
        }
    }

    /// <summary>
    /// Resizes the running guest's memory and answers with what it did in the wait. Not under the operation lock: a wait
    /// of minutes must not hold up a turn-off or a save (the host runs one change per VM at a time).
    /// </summary>
    private async Task<WorkerResponse> ResizeMemoryAsync(WorkerRequest request)
    {
        var vm = Session.Machine ?? throw new InvalidOperationException("the VM is not running (starting or stopping)");
        if (request.MemoryBytes <= 0) throw new ArgumentException($"set-memory needs the memory in bytes, not {request.MemoryBytes}");
        var outcome = await MemoryResize.ResizeAsync(vm, (ulong)request.MemoryBytes, TimeSpan.FromMilliseconds(Math.Max(0, request.WaitMs)), _stopping.Token).ConfigureAwait(false);
        _log.WriteLine($"worker: memory resized to {outcome.AssignedBytes >> 20} MiB of the {outcome.TargetBytes >> 20} MiB asked for");
        return Status() with { MemoryAssignedBytes = (long)outcome.AssignedBytes, MemoryShortBytes = (long)outcome.ShortBytes };
    }

    /// <summary>
    /// The requests the guest's agent carries out. Not under the operation lock: a copy of a large file must not hold up a
    /// turn-off, and the agent answers (or the connection's end fails the request) whatever the machine does meanwhile.
    /// </summary>
    private async Task AskGuestAgentAsync(WorkerRequest request)
    {
        var session = Session;
        if (session.Machine is null) throw new InvalidOperationException("the VM is not running (starting or stopping)");
        if (session.Paused) throw new InvalidOperationException("the VM is paused: resume it before asking its guest agent");
        if (request.Op == WorkerOps.GuestShutdown)
        {
            await Integration().ShutdownAsync(request.Destination ?? "the host asked").ConfigureAwait(false);
            return;
        }
        await Integration().CopyFileAsync(request.Path ?? throw new InvalidOperationException("copy-file needs the host's file"),
            request.Destination ?? throw new InvalidOperationException("copy-file needs the destination in the guest"), request.CreateFullPath, request.Force)
            .ConfigureAwait(false);
    }

    /// <summary>`hyper vm exec`: starts the command, answers, then carries its streams on the connection until it ends.</summary>
    private async Task ExecAsync(Socket connection, WorkerRequest request)
    {
        GuestCommand command;
        try
        {
            if (request.Arguments is not { Count: > 0 } arguments) throw new InvalidOperationException("exec needs the command to run");
            if (Session.Paused) throw new InvalidOperationException("the VM is paused: resume it before running commands in it");
            command = await Integration().StartAsync(arguments, request.User, request.Password).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            await connection.SendAsync(Encoding.UTF8.GetBytes(WorkerJson.Line(new WorkerResponse { Ok = false, Error = e.Message })), SocketFlags.None).ConfigureAwait(false);
            return;
        }
        await connection.SendAsync(Encoding.UTF8.GetBytes(WorkerJson.Line(Status())), SocketFlags.None).ConfigureAwait(false);
        await WorkerExec.RunAsync(connection, command, _stopping.Token).ConfigureAwait(false);
    }

    /// <summary>The host's "migrate": the VM goes to the destination worker (one change at a time, as every other); progress is reported as it goes.</summary>
    private async Task<WorkerResponse> MigrateAsync(WorkerRequest request)
    {
        await _operation.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            return await Migration.WorkerMigration.SendAsync(Session, request,
                percent => _reports.Send(new WorkerReport { Kind = WorkerReportKinds.Migrating, Percent = percent }),
                _log.WriteLine, _stopping.Token).ConfigureAwait(false);
        }
        finally { _operation.Release(); }
    }

    /// <summary>The network adapter requests: hot add and remove, (re)connect and disconnect a switch port, relabel (a rename, or device naming turned on or off: no label).</summary>
    private async Task HandleAdapterAsync(VirtualMachine vm, WorkerRequest request, int? descriptor)
    {
        var id = request.Adapter ?? throw new InvalidOperationException($"{request.Op} needs an adapter id");
        switch (request.Op)
        {
            case WorkerOps.AddNic:
                var mac = MacAddress.Parse(request.Mac ?? throw new InvalidOperationException("add-nic needs a MAC address"));
                int slot = _adapters.Add(vm, id, request.Label, mac, descriptor);
                _log.WriteLine($"worker: hot-added network adapter {(request.Label is { } name ? $"'{name}'" : $"{id} (no device naming)")} ({mac}) in PCI slot {slot}");
                break;
            case WorkerOps.RemoveNic:
                await _adapters.RemoveAsync(vm, id, DiskEjectTimeout).ConfigureAwait(false);
                _log.WriteLine($"worker: removed network adapter {id}");
                break;
            case WorkerOps.ConnectNic:
                _adapters.Connect(id, descriptor ?? throw new InvalidOperationException("connect-nic needs the switch port's descriptor"));
                break;
            case WorkerOps.DisconnectNic:
                _adapters.Disconnect(id);
                break;
            case WorkerOps.LabelNic:
                _adapters.Rename(vm, id, request.Label);
                break;
            default:
                throw new InvalidOperationException($"unknown request '{request.Op}'");
        }
    }

    private WorkerResponse Status()
    {
        var session = _session;
        var vm = session?.Machine;
        vm?.Balloon?.RequestStatistics(); // a fresh report for the next look; this one carries the last
        return new WorkerResponse
        {
            Ok = true,
            Pid = Environment.ProcessId,
            Running = vm is not null,
            Paused = session?.Paused ?? false,
            UptimeMs = (long)(session?.Uptime.TotalMilliseconds ?? 0),
            MemoryTouchedBytes = vm is null ? 0 : (long)vm.TouchedMemoryBytes(),
            MemoryAssignedBytes = vm is null ? 0 : (long)MemoryResize.Assigned(vm),
            MemoryDemandBytes = vm is null ? 0 : (long)MemoryResize.Demand(vm),
            Backend = _hypervisor.Name,
            Adapters = _adapters.Status(vm),
            Integration = _integration?.Status,
        };
    }

    private WorkerIntegration Integration() => _integration ?? throw new InvalidOperationException("the VM has no integration services (its vsock socket could not be served)");

    private void ReportThrottled(string what)
    {
        _log.WriteLine($"worker: {what}");
        _reports.Send(new WorkerReport { Kind = WorkerReportKinds.Throttled, Reason = what });
    }

    private void ReportIntegration(GuestIntegrationStatus status) => _reports.Send(new WorkerReport { Kind = WorkerReportKinds.Integration, Integration = status });

    private async Task SendInputAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var vm = _session?.Machine;
            if (vm is null) return;
            int taken = vm.Console.Receive(data.Span);
            data = data[taken..];
            // The guest reads slower than a paste arrives: wait for the UART's FIFO, never drop input.
            if (!data.IsEmpty) await Task.Delay(5).ConfigureAwait(false);
        }
    }
}
