using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor;

/// <summary>One virtual CPU: runs guest code until something needs the host, and exposes its whole architectural state.</summary>
public interface IVirtualProcessor : IDisposable
{
    /// <summary>Processor number in the partition (also its initial APIC ID).</summary>
    int Id { get; }

    /// <summary>
    /// Runs guest code on the calling thread until an exit. For a port or MMIO read exit, fill
    /// <see cref="VirtualProcessorExit.Data"/> before the next <see cref="Run"/>; the guest receives it then.
    /// One thread at a time may run a processor.
    /// </summary>
    VirtualProcessorExit Run();

    /// <summary>
    /// Makes the running (or the next) <see cref="Run"/> return <see cref="ExitKind.Cancelled"/> soon; safe from any thread.
    /// The request stays pending until a <see cref="Run"/> has returned Cancelled for it.
    /// </summary>
    void RequestStop();

    /// <summary>Reads the complete architectural state; call only while the processor is not running.</summary>
    VirtualProcessorState GetState();

    /// <summary>Replaces the complete architectural state; call only while the processor is not running.</summary>
    void SetState(VirtualProcessorState state);
}
