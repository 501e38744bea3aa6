using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Memory;
using HyperSharp.Hypervisor.Platform;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>
/// One vCPU of the Emulated backend. The processor calls its devices synchronously in the middle of
/// an instruction, while the contract returns exits from <see cref="Run"/>; so the processor runs on
/// a thread of its own, and an access our platform does not answer (local APIC, I/O APIC, PIC, PIT,
/// doorbells) is handed to the caller of Run as an exit, the processor waiting until the next Run
/// brings the answer. HLT waits here for an interrupt, as with an in-kernel irqchip.
/// </summary>
internal sealed partial class EmulatedVirtualProcessor : IVirtualProcessor, ICpuIoHandler, IInterruptController
{
    private const ulong Batch = 200_000; // instructions between timer polls

    private readonly EmulatedPartition _partition;
    private readonly X86Cpu _cpu;
    private readonly LocalApic _apic;
    private readonly AutoResetEvent _wake = new(false);
    private readonly Handoff _exitReady = new(), _resume = new();
    private readonly byte[] _exitData = new byte[64];
    private Thread? _thread;
    private volatile bool _disposed, _stopRequested, _parkRequested;
    private ProcessorRunState _runState;

    // The exit being handed over (written by the processor thread before _exitReady is released).
    private ExitKind _exitKind;
    private ulong _exitAddress;
    private int _exitSize;
    private bool _exitWrite;
    private string? _exitDetail;

    public EmulatedVirtualProcessor(EmulatedPartition partition, int id, PhysicalMemory memory)
    {
        _partition = partition;
        Id = id;
        _cpu = new X86Cpu(memory, this, partition.Vendor, partition.Clock) { InterruptController = this, ApicId = (uint)id };
        _apic = partition.Platform.AddApic(id, () => _cpu.Tsc);
        _apic.Kick = Kick;
        _cpu.TscDeadlineRead = () => _apic.TscDeadline;
        _cpu.TscDeadlineWrite = v => _apic.TscDeadline = v;
        _runState = id == 0 ? ProcessorRunState.Runnable : ProcessorRunState.Uninitialized;
    }

    public int Id { get; }

    /// <summary>The vendor the processor presents (the partition's).</summary>
    internal ProcessorVendor Vendor => _cpu.Vendor;

    public VirtualProcessorExit Run()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_thread is null)
        {
            _thread = new Thread(ProcessorLoop) { IsBackground = true, Name = $"emulated-vcpu{Id}" };
            _thread.Start();
        }
        else _resume.Signal(); // the previous exit is answered (read data is in _exitData)
        _exitReady.Wait();
        return new VirtualProcessorExit
        {
            Kind = _exitKind, Address = _exitAddress, Size = _exitSize, Count = 1, IsWrite = _exitWrite,
            Data = _exitKind is ExitKind.PortIo or ExitKind.Mmio ? _exitData.AsSpan(0, _exitSize) : default,
            Detail = _exitDetail,
        };
    }

    public void RequestStop()
    {
        _stopRequested = true;
        _cpu.RequestStop();
        _wake.Set();
    }

    /// <summary>Hands an exit to Run's caller and waits for the next Run (processor thread).</summary>
    private void Exit(ExitKind kind, ulong address = 0, int size = 0, bool write = false, string? detail = null)
    {
        if (_disposed) return; // shutting down: nobody will call Run again, so finish without handing over
        (_exitKind, _exitAddress, _exitSize, _exitWrite, _exitDetail) = (kind, address, size, write, detail);
        _exitReady.Signal();
        _resume.Wait();
    }

    private void ProcessorLoop()
    {
        try
        {
            while (!_disposed)
            {
                if (_parkRequested) { Exit(ExitKind.Cancelled); continue; }
                if (!ServiceStartup())
                {
                    _wake.WaitOne(1000); // an application processor sleeps until INIT/SIPI kicks it
                    ConsumeStop();
                    continue;
                }
                _partition.Platform.Poll();
                UpdateInterruptLine();
                var reason = _cpu.Run(Batch);
                switch (reason)
                {
                    case CpuExitReason.Stopped:
                        ConsumeStop();
                        break;
                    case CpuExitReason.Halted:
                        WaitForEvent(NextTimer());
                        ConsumeStop();
                        break;
                    case CpuExitReason.Shutdown:
                        Exit(ExitKind.Shutdown);
                        break;
                }
            }
        }
        catch (Exception e) when (!_disposed)
        {
            Exit(ExitKind.InternalError, detail: $"the emulated processor failed at RIP 0x{_cpu.Rip:X}: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>A stop request becomes exactly one Cancelled exit.</summary>
    private bool ConsumeStop()
    {
        if (!_stopRequested) return false;
        _stopRequested = false;
        Exit(ExitKind.Cancelled);
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
        _resume.Signal();
        // The processor thread must be gone before the partition frees the memory it executes from.
        if (_thread is not null && _thread != Thread.CurrentThread && !_thread.Join(TimeSpan.FromSeconds(10)))
            throw new HypervisorException($"emulated vCPU {Id} did not stop within 10 s");
    }
}
