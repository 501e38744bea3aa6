using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using HyperSharp.Hypervisor;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Platform;
using HyperSharp.Inventory.Storage;
using HyperSharp.Inventory.Workers;
using HyperSharp.Machine;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Interop;

namespace HyperSharp.Worker;

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
    private MachineSession? _session;
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

    private MachineSession Session => _session ?? throw new InvalidOperationException("the VM is not running (starting)");

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
        _session = CreateSession();
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
            listener.Dispose();
            try { File.Delete(_folder.SocketFile); } catch (IOException) { }
            _ = accepting;
        }
    }

    private MachineSession CreateSession()
    {
        var machine = MachineConfiguration.From(_config, _console.Output, line => _log.WriteLine($"vm: {line}"), _adapters.Attachments());
        return new MachineSession(_hypervisor, machine)
        {
            RestoreFrom = _restorePending ? _folder.SavedStateFile : null,
            Reconnect = _adapters.ConnectSaved,
            // Hot-added disks stay, in their slots; every adapter (hot-added ones too) is plugged into the port it had.
            AfterReset = (vm, config) => config with { Disks = vm.DiskAttachments, NetworkAdapters = _adapters.Attachments() },
            ForSave = (vm, config) => config with { NetworkAdapters = _adapters.Attachments(vm) },
            MachineStarted = (vm, start) =>
            {
                _adapters.Bind(vm);
                if (start == MachineStart.RebootedAfterReset) _log.WriteLine("worker: the guest reset; starting it again");
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
        if (StartCheck.Problem(_config) is { } problem) return new WorkerExitRecord { Saved = _restorePending, Reason = $"cannot start: {problem}" };
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
                    break;
                case WorkerOps.Resume:
                    session.Resume();
                    break;
                case WorkerOps.Save:
                    session.Save(_folder.SavedStateFile);
                    Posix.FsyncDirectory(_folder.Path);
                    break;
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
        var session = _session;
        var vm = session?.Machine;
        return new WorkerResponse
        {
            Ok = true,
            Pid = Environment.ProcessId,
            Running = vm is not null,
            Paused = session?.Paused ?? false,
            UptimeMs = (long)(session?.Uptime.TotalMilliseconds ?? 0),
            MemoryTouchedBytes = vm is null ? 0 : (long)vm.TouchedMemoryBytes(),
            Backend = _hypervisor.Name,
            Adapters = _adapters.Status(vm),
        };
    }

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
