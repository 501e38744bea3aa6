namespace HyperSharp.Machine.Acpi;

/// <summary>
/// Builds the byte stream of an ASL ResourceTemplate (the _CRS of a device): I/O ports, IRQs,
/// bus-number, I/O and memory windows (ACPI specification, "Resource Data Types"), ended by the
/// end tag. <see cref="ToBuffer"/> wraps it as an AML Buffer.
/// </summary>
public sealed class ResourceTemplate
{
    private readonly List<byte> _bytes = [];

    /// <summary>IO(Decode16, min, max, alignment, length): a fixed port range.</summary>
    public ResourceTemplate Io(ushort start, byte length, byte alignment = 1)
    {
        _bytes.AddRange([0x47, 0x01, (byte)start, (byte)(start >> 8), (byte)start, (byte)(start >> 8), alignment, length]);
        return this;
    }

    /// <summary>IRQNoFlags(){irq}: an ISA edge-triggered, active-high interrupt.</summary>
    public ResourceTemplate Irq(int irq)
    {
        ushort mask = (ushort)(1 << irq);
        _bytes.AddRange([0x22, (byte)mask, (byte)(mask >> 8)]);
        return this;
    }

    /// <summary>Memory32Fixed(ReadOnly or ReadWrite, base, length): a fixed range of MMIO a device decodes.</summary>
    public ResourceTemplate Memory32Fixed(uint start, uint length, bool writable)
    {
        _bytes.AddRange([0x86, 9, 0, (byte)(writable ? 1 : 0), .. BitConverter.GetBytes(start), .. BitConverter.GetBytes(length)]);
        return this;
    }

    /// <summary>WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, ...).</summary>
    public ResourceTemplate BusNumbers(ushort first, ushort last) => WordSpace(2, 0, first, last);

    /// <summary>WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, ...): a window of ports passed to child devices.</summary>
    public ResourceTemplate IoWindow(ushort first, ushort last) => WordSpace(1, 3, first, last);

    private ResourceTemplate WordSpace(byte type, byte typeFlags, ushort min, ushort max)
    {
        ushort length = (ushort)(max - min + 1);
        _bytes.AddRange([0x88, 13, 0, type, 0x0C, typeFlags]);
        foreach (ushort v in new ushort[] { 0, min, max, 0, length }) { _bytes.Add((byte)v); _bytes.Add((byte)(v >> 8)); }
        return this;
    }

    /// <summary>DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, ...): a 32-bit MMIO window.</summary>
    public ResourceTemplate MemoryWindow32(uint first, uint last)
    {
        _bytes.AddRange([0x87, 23, 0, 0, 0x0C, 0x01]);
        foreach (uint v in new uint[] { 0, first, last, 0, last - first + 1 }) _bytes.AddRange(BitConverter.GetBytes(v));
        return this;
    }

    /// <summary>QWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, ...): a 64-bit MMIO window.</summary>
    public ResourceTemplate MemoryWindow64(ulong first, ulong last)
    {
        _bytes.AddRange([0x8A, 43, 0, 0, 0x0C, 0x01]);
        foreach (ulong v in new ulong[] { 0, first, last, 0, last - first + 1 }) _bytes.AddRange(BitConverter.GetBytes(v));
        return this;
    }

    public byte[] ToBytes() => [.. _bytes, 0x79, 0x00]; // end tag; checksum 0 means "not checked"

    public byte[] ToBuffer() => Aml.Buffer(ToBytes());
}
