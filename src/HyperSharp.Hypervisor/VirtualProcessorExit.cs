namespace HyperSharp.Hypervisor;

/// <summary>
/// Why <see cref="IVirtualProcessor.Run"/> returned. A ref struct whose <see cref="Data"/> points into the
/// backend's exit buffer, so handling an exit allocates nothing; it is valid until the next Run.
/// </summary>
public readonly ref struct VirtualProcessorExit
{
    /// <summary>The kind of exit; selects which other members mean something.</summary>
    public ExitKind Kind { get; init; }

    /// <summary>Port number (PortIo) or guest physical address (Mmio).</summary>
    public ulong Address { get; init; }

    /// <summary>Bytes per access: 1, 2 or 4 for ports; 1-8 for MMIO.</summary>
    public int Size { get; init; }

    /// <summary>Number of back-to-back accesses (string port I/O, INS/OUTS with REP); 1 otherwise.</summary>
    public int Count { get; init; }

    /// <summary>True for OUT and MMIO writes, false for IN and MMIO reads.</summary>
    public bool IsWrite { get; init; }

    /// <summary>
    /// Size × Count bytes: what the guest wrote, or where to put what it reads (in access order).
    /// Unused for other kinds.
    /// </summary>
    public Span<byte> Data { get; init; }

    /// <summary>Which system event (only for <see cref="ExitKind.SystemEvent"/>).</summary>
    public SystemEventKind SystemEvent { get; init; }

    /// <summary>Backend-specific explanation for <see cref="ExitKind.InternalError"/> and <see cref="ExitKind.Unknown"/>.</summary>
    public string? Detail { get; init; }

    /// <summary>The written or read value as an integer (little-endian, first access), for Size ≤ 8.</summary>
    public ulong Value
    {
        get
        {
            Span<byte> buffer = stackalloc byte[8];
            buffer.Clear();
            Data[..Math.Min(Size, 8)].CopyTo(buffer);
            return BitConverter.ToUInt64(buffer);
        }
    }

    /// <summary>Stores <paramref name="value"/> as the answer to a read exit (little-endian, every repetition).</summary>
    public void SetValue(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BitConverter.TryWriteBytes(bytes, value);
        for (int i = 0; i + Size <= Data.Length; i += Size)
            bytes[..Size].CopyTo(Data[i..]);
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        ExitKind.PortIo or ExitKind.Mmio => $"{Kind} {(IsWrite ? "write" : "read")} 0x{Address:X} size {Size} x{Count}",
        ExitKind.SystemEvent => $"SystemEvent {SystemEvent}",
        _ => Detail is null ? Kind.ToString() : $"{Kind}: {Detail}",
    };
}

/// <summary>Reasons a processor stops running guest code.</summary>
public enum ExitKind
{
    /// <summary>The backend reported something it does not translate; see Detail.</summary>
    Unknown,
    /// <summary>IN/OUT (or INS/OUTS) to a port nobody handles in the backend.</summary>
    PortIo,
    /// <summary>A load or store to a guest physical address without RAM (or a write to a read-only slot).</summary>
    Mmio,
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
