using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Memory;
using HyperSharp.Hypervisor.Platform;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>
/// One vCPU of the Emulated backend. The software processor runs on the thread that calls
/// <see cref="Run"/> and makes its port and MMIO accesses synchronously, mid-instruction, through a
/// <see cref="ProcessorIoRouter"/>: the backend's own local APIC, I/O APIC, PIC, PIT and doorbells answer
/// what is theirs, the VMM's dispatcher the rest. HLT waits here for an interrupt, as with an in-kernel irqchip.
/// </summary>
/// <remarks>
/// The processor used to run on a second thread of its own, handing each access to Run's caller as an exit
/// and waiting for the answer: only because Run returned port and MMIO exits. Nothing else needed that
/// thread — it had the default stack size, as the VMM's vCPU threads do; pausing is a stop request honoured at a block boundary, and the IL
/// translation tier compiles on its own background thread — so it went with those exits.
/// </remarks>
internal sealed class EmulatedVirtualProcessor : IVirtualProcessor, IInterruptController
{
    private const ulong Batch = 200_000; // instructions between timer polls

    private readonly EmulatedPartition _partition;
    private readonly X86Cpu _cpu;
    private readonly LocalApic _apic;
    private readonly ProcessorIoRouter _io;
    private readonly AutoResetEvent _wake = new(false);
    private readonly ManualResetEventSlim _idle = new(true); // set while no thread is inside Run
    private int _running;
    private volatile bool _disposed, _stopRequested;
    private ProcessorRunState _runState;

    public EmulatedVirtualProcessor(EmulatedPartition partition, int id, PhysicalMemory memory)
    {
        _partition = partition;
        Id = id;
        _apic = partition.Platform.AddApic(id, () => _cpu!.Tsc);
        _io = new ProcessorIoRouter(partition, _apic, () => _cpu!.TryReadMsr(0x1B, out ulong b) ? b & ~0xFFFUL : 0xFEE0_0000, UpdateInterruptLine);
        _cpu = new X86Cpu(memory, _io, partition.Vendor, partition.Clock) { InterruptController = this, ApicId = (uint)id };
        _apic.Kick = Kick;
        _cpu.TscDeadlineRead = () => _apic.TscDeadline;
        _cpu.TscDeadlineWrite = v => _apic.TscDeadline = v;
        _runState = id == 0 ? ProcessorRunState.Runnable : ProcessorRunState.Uninitialized;
    }

    public int Id { get; }

    /// <summary>The vendor the processor presents (the partition's).</summary>
    internal ProcessorVendor Vendor => _cpu.Vendor;

    public VirtualProcessorExit Run(IIoDispatcher io)
    {
        ArgumentNullException.ThrowIfNull(io);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _running, 1) != 0)
            throw new InvalidOperationException($"Virtual processor {Id} is already running on another thread.");
        _idle.Reset();
        _io.Dispatcher = io;
        try
        {
            return RunUntilExit();
        }
        catch (Exception e) when (!_io.InDispatcher) // the dispatcher's own exceptions leave Run as they are
        {
            return new VirtualProcessorExit { Kind = ExitKind.InternalError, Detail = $"the emulated processor failed at RIP 0x{_cpu.Rip:X}: {e.GetType().Name}: {e.Message}" };
        }
        finally
        {
            Volatile.Write(ref _running, 0);
            _idle.Set();
        }
    }

    private VirtualProcessorExit RunUntilExit()
    {
        while (true)
        {
            if (_disposed || ConsumeStop()) return new VirtualProcessorExit { Kind = ExitKind.Cancelled };
            if (!ServiceStartup())
            {
                _wake.WaitOne(1000); // an application processor sleeps until INIT/SIPI kicks it
                continue;
            }
            _partition.Platform.Poll();
            UpdateInterruptLine();
            switch (_cpu.Run(Batch))
            {
                case CpuExitReason.Halted:
                    WaitForEvent(NextTimer());
                    break;
                case CpuExitReason.Shutdown:
                    return new VirtualProcessorExit { Kind = ExitKind.Shutdown, Detail = "triple fault" };
            }
        }
    }

    public void RequestStop()
    {
        _stopRequested = true;
        _cpu.RequestStop();
        _wake.Set();
    }

    /// <summary>A stop request becomes exactly one Cancelled exit.</summary>
    private bool ConsumeStop()
    {
        if (!_stopRequested) return false;
        _stopRequested = false;
        return true;
    }

    private long? NextTimer()
    {
        long? apic = _apic.NextTimerNanoseconds(tsc => EmulatedPlatform.Nanoseconds() + (long)(tsc - Math.Min(tsc, _cpu.Tsc)));
        long? pit = _partition.Platform.NextPlatformEvent();
        return apic is null ? pit : pit is null ? apic : Math.Min(apic.Value, pit.Value);
    }

    private void WaitForEvent(long? deadline)
    {
        long now = EmulatedPlatform.Nanoseconds();
        int ms = deadline is long d ? (int)Math.Clamp((d - now) / 1_000_000, 0, 10) : 10;
        _waiting = true;
        if (ms > 0) _wake.WaitOne(ms);
        _waiting = false;
    }

    /// <summary>True while the processor thread sleeps in HLT (or before INIT/SIPI): what a profiler counts as idle.</summary>
    private volatile bool _waiting;

    internal void AttachProfiler(GuestProfiler? profiler) => profiler?.Add(_cpu, () => _waiting || _runState != ProcessorRunState.Runnable);

    private void Kick()
    {
        UpdateInterruptLine();
        _wake.Set();
    }

    private void UpdateInterruptLine() => _cpu.SetInterruptLine(_apic.PendingVector() >= 0 || (!_apic.SoftwareEnabled && _partition.Platform.Pic.InterruptPending));

    /// <summary>The acknowledge cycle: the local APIC's highest request (or the PIC's, with the APIC off).</summary>
    public int Acknowledge()
    {
        int vector = _apic.PendingVector();
        if (vector >= 0) _apic.Acknowledge(vector);
        else if (!_apic.SoftwareEnabled && _partition.Platform.Pic.InterruptPending) vector = _partition.Platform.Pic.Acknowledge();
        UpdateInterruptLine();
        return vector;
    }

    /// <summary>INIT and START-UP for application processors; returns false while this vCPU waits for them.</summary>
    private bool ServiceStartup()
    {
        if (_apic.TakeInit())
        {
            _cpu.Reset();
            _apic.Reset();
            _runState = ProcessorRunState.InitReceived;
        }
        int sipi = _apic.TakeStartup();
        if (sipi >= 0 && _runState is ProcessorRunState.InitReceived or ProcessorRunState.Uninitialized)
        {
            // START-UP: real mode at vector << 12 (CS = vector << 8, IP = 0).
            _cpu.SetSegment(Seg.Cs, new State.SegmentRegister((ushort)(sipi << 8), (ulong)sipi << 12, 0xFFFF, 0x9B));
            _cpu.Rip = 0;
            _runState = ProcessorRunState.Runnable;
        }
        return _runState == ProcessorRunState.Runnable;
    }

    /// <summary>Reads the state between Runs (Run leaves only at an instruction boundary, so nothing is in flight).</summary>
    public VirtualProcessorState GetState()
    {
        RequireIdle();
        byte[] apic = SavedRecord.Of(_apic.SaveState()).Pack();
        return EmulatedStateMapping.ToRecord(_cpu.GetState(), _runState, apic);
    }

    public void SetState(VirtualProcessorState state)
    {
        RequireIdle();
        _cpu.SetState(EmulatedStateMapping.FromRecord(state));
        _runState = state.RunState == ProcessorRunState.Halted ? ProcessorRunState.Runnable : state.RunState;
        // The local APIC as this backend saved it (the machine refuses another backend's saved state): a packed
        // record since processor-state version 2, JSON before. A state built by hand has none and leaves the APIC as it is.
        if (state.LocalApic.Length > 0)
        {
            string name = $"processor {Id} local APIC";
            _apic.RestoreState(state.EncodingVersion >= 2
                ? SavedRecord.Unpack(state.LocalApic, name).Read<HyperSharp.Hypervisor.Platform.LocalApicState>(name)
                : HyperSharp.Hypervisor.Platform.LocalApicState.FromJson(state.LocalApic, name));
        }
        UpdateInterruptLine();
    }

    private void RequireIdle()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Volatile.Read(ref _running) != 0)
            throw new InvalidOperationException($"Virtual processor {Id} is running; stop it before reading or writing its state.");
    }

    public void ResetToPowerOn()
    {
        _cpu.Reset();
        _cpu.ResetTimestamp();
        _apic.Reset();
        _runState = Id == 0 ? ProcessorRunState.Runnable : ProcessorRunState.Uninitialized;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cpu.RequestStop();
        _wake.Set();
        // A Run in progress on another thread must leave before the partition frees the memory it executes from.
        if (!_idle.Wait(TimeSpan.FromSeconds(10)))
            throw new HypervisorException($"emulated vCPU {Id} did not stop within 10 s");
    }
}
