namespace HyperSharp.Hypervisor;

/// <summary>
/// Why <see cref="IVirtualProcessor.Run"/> returned: a lifecycle event the VMM decides on (port I/O and
/// MMIO never end Run; they go to the <see cref="IIoDispatcher"/>).
/// </summary>
public readonly struct VirtualProcessorExit
{
    /// <summary>The kind of exit; selects which other members mean something.</summary>
    public ExitKind Kind { get; init; }

    /// <summary>Which system event (only for <see cref="ExitKind.SystemEvent"/>).</summary>
    public SystemEventKind SystemEvent { get; init; }

    /// <summary>Backend-specific explanation for <see cref="ExitKind.InternalError"/>, <see cref="ExitKind.Unknown"/> and <see cref="ExitKind.Shutdown"/>.</summary>
    public string? Detail { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        ExitKind.SystemEvent => $"SystemEvent {SystemEvent}",
        _ => Detail is null ? Kind.ToString() : $"{Kind}: {Detail}",
    };
}

/// <summary>Reasons a processor stops running guest code.</summary>
public enum ExitKind
{
    /// <summary>The backend reported something it does not translate; see Detail.</summary>
    Unknown,
    /// <summary>HLT with no backend interrupt controller to wait on.</summary>
    Halt,
    /// <summary>Triple fault (shutdown): the guest cannot continue without a reset.</summary>
    Shutdown,
    /// <summary>The guest asked the platform for a reset, power-off or reported a crash.</summary>
    SystemEvent,
    /// <summary><see cref="IVirtualProcessor.RequestStop"/> was honoured.</summary>
    Cancelled,
    /// <summary>The backend could not run the guest (invalid state, emulation failure); see Detail.</summary>
    InternalError,
}

/// <summary>Platform-level requests a guest can make.</summary>
public enum SystemEventKind
{
    /// <summary>Not a system event.</summary>
    None,
    /// <summary>Reboot the machine.</summary>
    Reset,
    /// <summary>Turn the machine off.</summary>
    PowerOff,
    /// <summary>The guest reported a crash (panic notifier).</summary>
    Crash,
}
