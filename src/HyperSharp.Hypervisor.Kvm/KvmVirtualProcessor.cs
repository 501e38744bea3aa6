using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Kvm.Interop;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>A KVM vCPU: its fd, the shared kvm_run page, the run loop, stop requests and state access.</summary>
internal sealed unsafe class KvmVirtualProcessor : IVirtualProcessor
{
    private readonly KvmPartition _partition;
    private readonly KvmStateAccess _state;
    private readonly VirtualProcessorState _powerOnState;
    private readonly object _runLock = new();
    private readonly int _runSize;
    private int _fd;
    private byte* _run;
    private bool _stopRequested; // guarded by _runLock, together with kvm_run.immediate_exit
    private bool _running;
    private nuint _runningThread;

    public KvmVirtualProcessor(KvmPartition partition, KvmHypervisor hypervisor, int id, bool hasLapic)
    {
        _partition = partition;
        Id = id;
        _fd = KvmCall.Ioctl(partition.VmFd, KvmIoctl.CreateVcpu, id, $"KVM_CREATE_VCPU ({id})");
        try
        {
            _runSize = hypervisor.System.VcpuMmapSize;
            nint run = Libc.Mmap(0, (nuint)_runSize, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, _fd, 0);
            if (run == Libc.MapFailed)
                throw new HypervisorException($"Cannot map kvm_run of vCPU {id}: {Libc.LastError()}");
            _run = (byte*)run;
            KvmCpuidSetup.Apply(_fd, hypervisor.SupportedCpuid, id, partition.ExposesVirtualizationExtensions);
            _state = new KvmStateAccess(_fd, hypervisor.System, hasLapic);
            _powerOnState = _state.Get();
        }
        catch
        {
            if (_run != null) Libc.Munmap((nint)_run, (nuint)_runSize);
            Libc.Close(_fd);
            throw;
        }
    }

    public int Id { get; }

    public VirtualProcessorExit Run(IIoDispatcher io)
    {
        _ = KvmStopSignal.Number; // install the handler before the first run, so a stop can always kick us
        lock (_runLock)
        {
            if (_running) throw new InvalidOperationException($"Virtual processor {Id} is already running on another thread.");
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            _running = true;
            _runningThread = Libc.PthreadSelf();
        }
        try
        {
            while (true)
            {
                int r = Libc.Ioctl(_fd, KvmIoctl.Run, 0);
                if (r < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is Libc.EINTR or Libc.EAGAIN)
                    {
                        // KVM completes the previous access (stores read data, advances RIP) before it checks for signals and
                        // immediate_exit, so a stop requested by the dispatcher still returns at an instruction boundary.
                        if (TryConsumeStop()) return new VirtualProcessorExit { Kind = ExitKind.Cancelled };
                        continue; // a signal that was not ours (or a stop already consumed): keep running
                    }
                    return new VirtualProcessorExit { Kind = ExitKind.InternalError, Detail = $"KVM_RUN failed: {Libc.Describe(errno)}" };
                }
                // Safe: exit_reason lies inside the live kvm_run mapping, which Dispose cannot unmap while _running is set.
                uint reason = *(uint*)(_run + KvmRunOffsets.ExitReason);
                if (reason == KvmIoctl.ExitIntr)
                {
                    if (TryConsumeStop()) return new VirtualProcessorExit { Kind = ExitKind.Cancelled };
                    continue;
                }
                if (reason == KvmIoctl.ExitIo)
                {
                    if (!DispatchPortIo(io)) return new VirtualProcessorExit { Kind = ExitKind.InternalError, Detail = "KVM port I/O data lies outside kvm_run" };
                    continue; // the next KVM_RUN finishes the instruction with what the dispatcher stored
                }
                if (reason == KvmIoctl.ExitMmio)
                {
                    DispatchMmio(io);
                    continue;
                }
                return Translate(reason);
            }
        }
        finally
        {
            lock (_runLock) _running = false;
        }
    }

    /// <summary>Takes a pending stop request. The flag and immediate_exit change together under the lock, so a stop can neither be lost nor leave immediate_exit set without a request (which would make KVM_RUN spin on EINTR).</summary>
    private bool TryConsumeStop()
    {
        lock (_runLock)
        {
            if (!_stopRequested) return false;
            _stopRequested = false;
            // Safe: _run is the live kvm_run mapping (Dispose cannot run while _running is set).
            Volatile.Write(ref *(_run + KvmRunOffsets.ImmediateExit), (byte)0);
            return true;
        }
    }

    /// <summary>Hands a port I/O exit to the dispatcher, one element at a time for INS/OUTS; false when KVM's data offset is implausible.</summary>
    private bool DispatchPortIo(IIoDispatcher io)
    {
        // Safe throughout: the offsets are inside struct kvm_run, and the data range is checked against the mapping's size.
        byte* u = _run;
        int size = u[KvmRunOffsets.IoSize];
        int count = (int)*(uint*)(u + KvmRunOffsets.IoCount);
        ulong offset = *(ulong*)(u + KvmRunOffsets.IoDataOffset);
        long length = (long)size * count;
        if (offset > (ulong)_runSize || length > _runSize - (long)offset) return false;
        ushort port = *(ushort*)(u + KvmRunOffsets.IoPort);
        bool write = u[KvmRunOffsets.IoDirection] == 1;
        var data = new Span<byte>(u + offset, (int)length);
        for (int i = 0; i < count; i++)
        {
            var element = data.Slice(i * size, size);
            if (write) io.PortWrite(port, element); else io.PortRead(port, element);
        }
        return true;
    }

    private void DispatchMmio(IIoDispatcher io)
    {
        // Safe: the offsets are inside struct kvm_run; the data field holds 8 bytes and len is clamped to that.
        byte* u = _run;
        int len = (int)Math.Min(8u, *(uint*)(u + KvmRunOffsets.MmioLen));
        ulong address = *(ulong*)(u + KvmRunOffsets.MmioPhysAddr);
        var data = new Span<byte>(u + KvmRunOffsets.MmioData, len);
        if (u[KvmRunOffsets.MmioIsWrite] != 0) io.MmioWrite(address, data); else io.MmioRead(address, data);
    }

    private VirtualProcessorExit Translate(uint reason)
    {
        // Safe throughout: offsets are inside struct kvm_run, which lies inside the _runSize mapping.
        byte* u = _run;
        switch (reason)
        {
            case KvmIoctl.ExitHlt:
                return new VirtualProcessorExit { Kind = ExitKind.Halt };
            case KvmIoctl.ExitShutdown:
                return new VirtualProcessorExit { Kind = ExitKind.Shutdown, Detail = "triple fault" };
            case KvmIoctl.ExitSystemEvent:
                uint type = *(uint*)(u + KvmRunOffsets.SystemEventType);
                var kind = type switch
                {
                    KvmIoctl.SystemEventShutdown => SystemEventKind.PowerOff,
                    KvmIoctl.SystemEventReset => SystemEventKind.Reset,
                    KvmIoctl.SystemEventCrash => SystemEventKind.Crash,
                    _ => SystemEventKind.None,
                };
                return kind == SystemEventKind.None
                    ? new VirtualProcessorExit { Kind = ExitKind.Unknown, Detail = $"KVM system event type {type}" }
                    : new VirtualProcessorExit { Kind = ExitKind.SystemEvent, SystemEvent = kind };
            case KvmIoctl.ExitFailEntry:
                return new VirtualProcessorExit
                {
                    Kind = ExitKind.InternalError,
                    Detail = $"VM entry failed (hardware reason 0x{*(ulong*)(u + KvmRunOffsets.FailEntryReason):X}): the processor state is invalid",
                };
            case KvmIoctl.ExitInternalError:
                uint sub = *(uint*)(u + KvmRunOffsets.InternalSuberror);
                string what = sub switch
                {
                    1 => "instruction emulation failed",
                    2 => "exception while delivering an exception",
                    3 => "cannot deliver an event",
                    _ => "internal error",
                };
                return new VirtualProcessorExit { Kind = ExitKind.InternalError, Detail = $"KVM {what} (suberror {sub})" };
            default:
                return new VirtualProcessorExit { Kind = ExitKind.Unknown, Detail = $"KVM exit reason {reason}" };
        }
    }

    public void RequestStop()
    {
        lock (_runLock)
        {
            if (_run == null) return;
            _stopRequested = true;
            // Safe: the mapping is live (checked under the lock Dispose also takes). KVM checks immediate_exit on
            // entry, the signal interrupts a KVM_RUN already in progress: together no window is left.
            Volatile.Write(ref *(_run + KvmRunOffsets.ImmediateExit), (byte)1);
            // A stop from the dispatcher comes on the vCPU's own thread between two KVM_RUNs: immediate_exit alone ends
            // the next one, and a signal to ourselves would only add its delivery to every stop at an access.
            if (_running && _runningThread != Libc.PthreadSelf())
                Libc.PthreadKill(_runningThread, KvmStopSignal.Number); // thread is alive: it is inside Run, which needs this lock to leave
        }
    }

    public VirtualProcessorState GetState()
    {
        RequireIdle();
        return _state.Get();
    }

    public void SetState(VirtualProcessorState state)
    {
        RequireIdle();
        _state.Set(state);
    }

    internal void ResetToPowerOn() => SetState(_powerOnState);

    private void RequireIdle()
    {
        lock (_runLock)
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            if (_running) throw new InvalidOperationException($"Virtual processor {Id} is running; stop it before reading or writing its state.");
        }
    }

    public void Dispose()
    {
        lock (_runLock)
        {
            if (_fd < 0) return;
            if (_running) throw new InvalidOperationException($"Virtual processor {Id} is still running; stop it and let Run return before disposing.");
            Libc.Munmap((nint)_run, (nuint)_runSize);
            _run = null;
            Libc.Close(_fd);
            _fd = -1;
        }
        _partition.Forget(this);
    }
}
