namespace HyperSharp.Machine.Devices;

/// <summary>
/// What every device on a bus answers: reads and writes of 1, 2, 4 or 8 bytes at an offset
/// relative to the start of the range it was added at.
/// </summary>
public interface IIoDevice
{
    /// <summary>A short name for logs and errors ("serial0", "rtc").</summary>
    string Name { get; }

    void Read(ulong offset, Span<byte> data);

    void Write(ulong offset, ReadOnlySpan<byte> data);
}

/// <summary>A device that answers x86 port I/O.</summary>
public interface IPortIoDevice : IIoDevice;

/// <summary>A device that answers memory-mapped I/O.</summary>
public interface IMmioDevice : IIoDevice;

/// <summary>An interrupt line a device drives (an I/O APIC/PIC input on the platform).</summary>
public interface IInterruptLine
{
    /// <summary>Level-triggered devices call this on every change; edge devices pulse true then false.</summary>
    void Set(bool asserted);
}
