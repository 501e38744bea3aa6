using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using HyperSharp.Host.Inventory;
using HyperSharp.Host.Platform;
using HyperSharp.Hypervisor;
using HyperSharp.Machine;
using HyperSharp.Machine.State;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Interop;

namespace HyperSharp.Host.Workers;

/// <summary>
/// `hyper worker`: runs the one VM of a folder in this process until it stops, and serves the host's
/// control requests on the folder's socket. When the host asks for a restore, the folder's saved state is
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
    private readonly SemaphoreSlim _operation = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Stopwatch _uptime = new();
    private volatile VirtualMachine? _vm;
    private volatile bool _paused, _saved, _turnedOff, _machineEnded;
    private volatile bool _restorePending; // asked to restore and not yet restored: an end before then leaves the VM Saved
    private int _answering; // requests being answered: the process waits for them before it exits (a save's answer comes after the VM stopped)

    private WorkerRuntime(VmFolder folder, VmConfiguration config, IHypervisor hypervisor, bool restore, TextWriter log)
    {
        _restorePending = restore;
        _folder = folder;
        _config = config;
        _hypervisor = hypervisor;
        _log = log;
        _adapters = new WorkerAdapters(config.NetworkAdapters);
    }

    /// <summary>Runs the VM in <paramref name="folderPath"/>; returns the process exit code.</summary>
    public static int Run(string folderPath, bool restore, Func<string, IHypervisor> chooseBackend, TextWriter log)
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
            var worker = new WorkerRuntime(folder, config, hypervisor, restore, log);
            WorkerExitRecord exit;
            using (worker._adapters) exit = worker.RunToEnd();
            InventoryJson.WriteAtomic(folder.ExitFile, exit with { Pid = Environment.ProcessId });
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
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;
            _turnedOff = true;
            _vm?.Stop(VmStopReason.Stopped, "the worker was asked to stop (SIGTERM)");
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
            _machineEnded = true;
            var deadline = Environment.TickCount64 + 2000;
            while (Volatile.Read(ref _answering) > 0 && Environment.TickCount64 < deadline) Thread.Sleep(5);
            _stopping.Cancel();
            listener.Dispose();
            try { File.Delete(_folder.SocketFile); } catch (IOException) { }
            _ = accepting;
        }
    }

    private WorkerExitRecord RunMachine()
    {
        // The host looked at the files just before launching; one swapped since (a FIFO for the kernel) must not hang this process.
        if (Storage.StartCheck.Problem(_config) is { } problem) return new WorkerExitRecord { Saved = _restorePending, Reason = $"cannot start: {problem}" };
        var machine = MachineConfiguration.From(_config, _console.Output, line => _log.WriteLine($"vm: {line}"), _adapters.Attachments());
        bool restore = _restorePending;
        while (true)
        {
            using var vm = restore
                ? VirtualMachineBuilder.Restore(_hypervisor, _folder.SavedStateFile, _console.Output, machine.Log, _adapters.ConnectSaved)
                : new VirtualMachineBuilder(_hypervisor, machine).Build();
            _adapters.Bind(vm);
            if (restore)
            {
                File.Delete(_folder.SavedStateFile);
                Posix.FsyncDirectory(_folder.Path);
                restore = _restorePending = false;
            }
            _vm = vm;
            _uptime.Start();
            if (_turnedOff) vm.Stop(); // SIGTERM arrived while the VM was being built
            var stopped = vm.Run();
            _vm = null;
            if (_saved) return new WorkerExitRecord { Saved = true, Reason = "saved" };
            if (_turnedOff) return new WorkerExitRecord { Reason = stopped.Detail ?? "turned off" };
            switch (stopped.Reason)
            {
                case VmStopReason.Reset:
                    _log.WriteLine("worker: the guest reset; starting it again");
                    _paused = false;
                    // Hot-added disks stay, in their slots; every adapter (hot-added ones too) is plugged into the port it had.
                    machine = machine with { Disks = vm.DiskAttachments, NetworkAdapters = _adapters.Attachments() };
                    continue;
                case VmStopReason.PowerOff:
                    return new WorkerExitRecord { Reason = "the guest shut down" };
                case VmStopReason.TripleFault:
                case VmStopReason.GuestCrash:
                    return new WorkerExitRecord { Reason = $"the guest crashed: {stopped.Detail ?? stopped.Reason.ToString()}" };
                default:
                    return new WorkerExitRecord { Reason = $"the VM stopped: {stopped.Reason} {stopped.Detail}".TrimEnd() };
            }
        }
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
                WorkerResponse response;
                Interlocked.Increment(ref _answering);
                try
                {
                    try
                    {
                        int? descriptor = request.Descriptor ? DescriptorPassing.Receive(connection.Handle, DescriptorTimeoutMs) : null;
                        response = await HandleAsync(request, descriptor).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or UnauthorizedAccessException or HypervisorException or WorkerException or HyperSharp.Vhdx.VirtualDiskException or ArgumentException)
                    {
                        response = new WorkerResponse { Ok = false, Error = e.Message };
                    }
                    await connection.SendAsync(Encoding.UTF8.GetBytes(WorkerJson.Line(response)), SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                }
                finally { Interlocked.Decrement(ref _answering); }
                if (request.Op == WorkerOps.Console && response.Ok)
                    await _console.ServeAsync(connection, SendInputAsync, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or InvalidDataException or System.Text.Json.JsonException) { }
        }
    }

    /// <summary>Carries out one request; <paramref name="descriptor"/> (a switch port) is the handler's to keep, or closed here.</summary>
    private async Task<WorkerResponse> HandleAsync(WorkerRequest request, int? descriptor)
    {
        if (request.Op is WorkerOps.Status or WorkerOps.Console)
        {
            if (descriptor is int unused) DescriptorPassing.Close(unused);
            return Status();
        }
        await _operation.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var vm = _vm ?? throw new InvalidOperationException("the VM is not running (starting or stopping)");
            if (request.Op.EndsWith("-nic", StringComparison.Ordinal))
            {
                await HandleAdapterAsync(vm, request, descriptor).ConfigureAwait(false);
                descriptor = null; // the adapter owns it now
                return Status();
            }
            switch (request.Op)
            {
                case WorkerOps.Pause:
                    if (!_paused) { vm.Pause(); _paused = true; _uptime.Stop(); }
                    break;
                case WorkerOps.Resume:
                    if (_paused) { vm.Resume(); _paused = false; _uptime.Start(); }
                    break;
                case WorkerOps.Save:
                    if (!_paused) vm.Pause();
                    _paused = true;
                    vm.Save(_folder.SavedStateFile, SavedVmConfig.From(MachineConfiguration.From(_config, _ => { }, _ => { }, _adapters.Attachments(vm))), _hypervisor.Name);
                    Posix.FsyncDirectory(_folder.Path);
                    _saved = true;
                    vm.Stop(VmStopReason.Stopped, "saved");
                    break;
                case WorkerOps.Shutdown:
                    if (_paused) throw new InvalidOperationException("the VM is paused: resume it before asking the guest to shut down");
                    vm.RequestShutdown();
                    break;
                case WorkerOps.TurnOff:
                    _turnedOff = true;
                    vm.Stop(VmStopReason.Stopped, "turned off");
                    break;
                case WorkerOps.Reset:
                    if (_paused) { vm.Resume(); _paused = false; }
                    vm.Stop(VmStopReason.Reset);
                    await WaitForRebuildAsync(vm).ConfigureAwait(false);
                    break;
                case WorkerOps.AddDisk:
                    int slot = vm.AddDisk(request.Path ?? throw new InvalidOperationException("add-disk needs a path"), request.ReadOnly, request.Label);
                    _log.WriteLine($"worker: hot-added {request.Path} in PCI slot {slot}");
                    break;
                case WorkerOps.RemoveDisk:
                    var attached = vm.DiskAttachments.FirstOrDefault(d => d.Path == request.Path)
                        ?? throw new InvalidOperationException($"{request.Path} is not attached to the running VM");
                    // The guest ejects the disk (ACPI); the image is flushed and closed when this completes.
                    await vm.RemoveDiskAsync(attached.Slot!.Value, DiskEjectTimeout).ConfigureAwait(false);
                    _log.WriteLine($"worker: removed {request.Path} from PCI slot {attached.Slot}");
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
    /// A reset is answered once the machine is running again, so what the host asks next (save, an adapter change, status)
    /// reaches the rebuilt VM and not the one being torn down.
    /// </summary>
    private async Task WaitForRebuildAsync(VirtualMachine old)
    {
        var deadline = Environment.TickCount64 + 60_000;
        while (!_machineEnded && Environment.TickCount64 < deadline)
        {
            if (_vm is { } now && now != old) return;
            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>The network adapter requests: hot add and remove, (re)connect and disconnect a switch port, rename.</summary>
    private async Task HandleAdapterAsync(VirtualMachine vm, WorkerRequest request, int? descriptor)
    {
        var id = request.Adapter ?? throw new InvalidOperationException($"{request.Op} needs an adapter id");
        switch (request.Op)
        {
            case WorkerOps.AddNic:
                var mac = MacAddress.Parse(request.Mac ?? throw new InvalidOperationException("add-nic needs a MAC address"));
                int slot = _adapters.Add(vm, id, request.Label ?? id.ToString(), mac, descriptor);
                _log.WriteLine($"worker: hot-added network adapter '{request.Label}' ({mac}) in PCI slot {slot}");
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
                _adapters.Rename(vm, id, request.Label ?? throw new InvalidOperationException("label-nic needs the new label"));
                break;
            default:
                throw new InvalidOperationException($"unknown request '{request.Op}'");
        }
    }

    private WorkerResponse Status()
    {
        var vm = _vm;
        return new WorkerResponse
        {
            Ok = true,
            Pid = Environment.ProcessId,
            Running = vm is not null,
            Paused = _paused,
            UptimeMs = _uptime.ElapsedMilliseconds,
            MemoryTouchedBytes = vm is null ? 0 : (long)vm.TouchedMemoryBytes(),
            Backend = _hypervisor.Name,
            Adapters = _adapters.Status(vm),
        };
    }

    private async Task SendInputAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var vm = _vm;
            if (vm is null) return;
            int taken = vm.Console.Receive(data.Span);
            data = data[taken..];
            // The guest reads slower than a paste arrives: wait for the UART's FIFO, never drop input.
            if (!data.IsEmpty) await Task.Delay(5).ConfigureAwait(false);
        }
    }
}
