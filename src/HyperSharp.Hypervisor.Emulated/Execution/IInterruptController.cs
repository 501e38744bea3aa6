namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The CPU's view of its interrupt controller (the LAPIC, or a PIC in virtual-wire mode): when the INTR
/// line is asserted and the CPU can take an interrupt (IF = 1, no STI/MOV SS shadow), it runs the
/// acknowledge cycle — the controller moves its highest-priority request into service and returns its
/// vector, or -1 if the request went away meanwhile (spurious). Called on the vCPU thread.
/// </summary>
public interface IInterruptController
{
    int Acknowledge();
}
