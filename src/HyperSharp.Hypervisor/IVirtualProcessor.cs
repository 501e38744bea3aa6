using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor;

/// <summary>One virtual CPU: runs guest code until something needs the host, and exposes its whole architectural state.</summary>
public interface IVirtualProcessor : IDisposable
{
    /// <summary>Processor number in the partition (also its initial APIC ID).</summary>
    int Id { get; }

    /// <summary>
    /// Runs guest code on the calling thread until a lifecycle exit (halt without interrupt controllers,
    /// shutdown, a system event, a stop request, an error). Port I/O and MMIO go to <paramref name="io"/> on
    /// this thread as the guest makes them, so Run never returns in the middle of an instruction.
    /// One thread at a time may run a processor.
    /// </summary>
    /// <remarks>
    /// Why the buses are passed in rather than returned as exits: a software processor meets an access in the
    /// middle of an instruction and needs the answer to go on, so an exit-returning Run forced it onto a
    /// second thread with a hand-off per access; KVM's exits arrive on the calling thread anyway. With the
    /// dispatcher both backends run on the caller's thread and the VMM's loop sees only lifecycle events.
    /// </remarks>
    VirtualProcessorExit Run(IIoDispatcher io);

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
