namespace HyperSharp.Hypervisor.State;

/// <summary>Events caught between instructions: an exception, interrupt or NMI being delivered, and the interrupt shadow.</summary>
public readonly record struct PendingEvents
{
    /// <summary>An exception is in the middle of being delivered (re-injected on resume).</summary>
    public bool ExceptionInjected { get; init; }
    /// <summary>An exception is raised but delivery has not begun.</summary>
    public bool ExceptionPending { get; init; }
    /// <summary>Vector of the injected or pending exception.</summary>
    public byte ExceptionVector { get; init; }
    /// <summary>The exception pushes an error code.</summary>
    public bool ExceptionHasErrorCode { get; init; }
    /// <summary>The error code it pushes.</summary>
    public uint ExceptionErrorCode { get; init; }

    /// <summary>An external or software interrupt is in the middle of being delivered.</summary>
    public bool InterruptInjected { get; init; }
    /// <summary>Its vector.</summary>
    public byte InterruptVector { get; init; }
    /// <summary>It came from INT n (software) rather than from the interrupt controller.</summary>
    public bool InterruptSoft { get; init; }
    /// <summary>Interrupt shadow: bit 0 after STI, bit 1 after MOV SS/POP SS; blocks interrupts for one instruction.</summary>
    public byte InterruptShadow { get; init; }

    /// <summary>An NMI is in the middle of being delivered.</summary>
    public bool NmiInjected { get; init; }
    /// <summary>An NMI is waiting to be delivered.</summary>
    public bool NmiPending { get; init; }
    /// <summary>NMIs are blocked (an NMI handler runs and has not executed IRET).</summary>
    public bool NmiMasked { get; init; }

    /// <summary>Vector of the last startup IPI (application processors waiting for SIPI).</summary>
    public uint SipiVector { get; init; }
}

/// <summary>Multiprocessor run state of a processor.</summary>
public enum ProcessorRunState
{
    /// <summary>Executing instructions.</summary>
    Runnable = 0,
    /// <summary>An application processor waiting for INIT.</summary>
    Uninitialized = 1,
    /// <summary>Received INIT, waiting for a startup IPI.</summary>
    InitReceived = 2,
    /// <summary>Executed HLT and waits for an interrupt.</summary>
    Halted = 3,
    /// <summary>Received a startup IPI, about to start at its vector.</summary>
    SipiReceived = 4,
}
