using System.Buffers.Binary;

namespace HyperSharp.Machine.Pci;

/// <summary>What a BAR decodes: memory (32- or 64-bit) or I/O ports.</summary>
public enum PciBarKind { Memory32, Memory64, Io }

/// <summary>A base address register a device asks for: its size (a power of two) and kind.</summary>
public sealed record PciBar(int Index, ulong Size, PciBarKind Kind, bool Prefetchable = false);

/// <summary>
/// The 4 KiB configuration space of one PCI function (type 0 header): identity, command/status,
/// BARs with size probing, the capability list, interrupt line/pin. Per-byte write masks keep
/// read-only fields read-only whatever the guest writes.
/// </summary>
public sealed class PciConfigSpace
{
    public const int Size = 4096;
    public const ushort CommandIo = 1, CommandMemory = 2, CommandBusMaster = 4, CommandIntxDisable = 1 << 10;
    private readonly byte[] _data = new byte[Size];
    private readonly byte[] _writable = new byte[Size];
    private readonly PciBar?[] _bars = new PciBar?[6];
    private byte _lastCapability;

    public PciConfigSpace(ushort vendor, ushort device, uint classCode, byte revision, ushort subsystemVendor, ushort subsystemId, byte interruptPin)
    {
        W16(0x00, vendor); W16(0x02, device);
        _data[0x08] = revision;
        _data[0x09] = (byte)classCode; _data[0x0A] = (byte)(classCode >> 8); _data[0x0B] = (byte)(classCode >> 16);
        W16(0x2C, subsystemVendor); W16(0x2E, subsystemId);
        _data[0x3D] = interruptPin;
        Writable(0x04, 2, CommandIo | CommandMemory | CommandBusMaster | CommandIntxDisable);
        Writable(0x0C, 1, 0xFF); // cache line size
        Writable(0x3C, 1, 0xFF); // interrupt line
    }

    /// <summary>
    /// The configuration space of a PCI-to-PCI bridge (type 1 header, class 0604h): writable bus numbers and a
    /// non-prefetchable memory window; no I/O or prefetchable window (their registers read as zero, which tells the OS so).
    /// </summary>
    public static PciConfigSpace ForBridge(ushort vendor, ushort device)
    {
        var config = new PciConfigSpace(vendor, device, 0x060400, 0, 0, 0, 0);
        config._data[0x0E] = 0x01;                    // header type 1
        config.Writable(0x18, 4, 0x00FF_FFFF);        // primary, secondary, subordinate bus numbers
        config.Writable(0x20, 4, 0xFFF0_FFF0);        // memory base and limit (1 MiB granularity)
        config.Writable(0x3E, 2, 0x0FFF);             // bridge control
        return config;
    }

    public ushort Command => BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(0x04));

    public IReadOnlyList<PciBar?> Bars => _bars;

    /// <summary>Declares a BAR. A 64-bit memory BAR uses two registers (index and index + 1).</summary>
    public void AddBar(PciBar bar)
    {
        if (bar.Size < (bar.Kind == PciBarKind.Io ? 4UL : 16UL) || (bar.Size & (bar.Size - 1)) != 0) throw new ArgumentException($"BAR size {bar.Size} must be a power of two (>= 16 for memory, >= 4 for I/O)");
        if (bar.Index is < 0 or > 5 || (bar.Kind == PciBarKind.Memory64 && bar.Index == 5)) throw new ArgumentException($"BAR index {bar.Index} is not usable");
        _bars[bar.Index] = bar;
        int reg = 0x10 + bar.Index * 4;
        uint low = bar.Kind switch { PciBarKind.Io => 1u, PciBarKind.Memory64 => 4u, _ => 0u } | (bar.Prefetchable ? 8u : 0u);
        W32(reg, low);
        ulong mask = ~(bar.Size - 1);
        Writable(reg, 4, (uint)mask & (bar.Kind == PciBarKind.Io ? 0xFFFF_FFFCu : 0xFFFF_FFF0u));
        if (bar.Kind == PciBarKind.Memory64) Writable(reg + 4, 4, (uint)(mask >> 32));
    }

    /// <summary>The guest-programmed address of a BAR (0 when unassigned).</summary>
    public ulong BarAddress(int index)
    {
        var bar = _bars[index] ?? throw new ArgumentOutOfRangeException(nameof(index));
        uint low = R32(0x10 + index * 4);
        ulong address = low & (bar.Kind == PciBarKind.Io ? 0xFFFF_FFFCu : 0xFFFF_FFF0u);
        if (bar.Kind == PciBarKind.Memory64) address |= (ulong)R32(0x14 + index * 4) << 32;
        return address;
    }

    /// <summary>Sets a BAR's address as firmware would before the OS starts.</summary>
    public void AssignBar(int index, ulong address)
    {
        var bar = _bars[index] ?? throw new ArgumentOutOfRangeException(nameof(index));
        if (address % bar.Size != 0) throw new ArgumentException($"BAR {index} address 0x{address:X} is not aligned to its size 0x{bar.Size:X}");
        W32(0x10 + index * 4, (uint)address | (R32(0x10 + index * 4) & 0xF));
        if (bar.Kind == PciBarKind.Memory64) W32(0x14 + index * 4, (uint)(address >> 32));
    }

    /// <summary>Appends a capability (id, then body bytes; next pointer filled in). Returns its config-space offset.</summary>
    public int AddCapability(byte id, ReadOnlySpan<byte> body, ReadOnlySpan<byte> writableMask = default)
    {
        int offset = NextFree;
        if (offset + 2 + body.Length > 0x100) throw new InvalidOperationException("capabilities do not fit in the first 256 bytes of config space");
        _data[offset] = id;
        body.CopyTo(_data.AsSpan(offset + 2));
        if (!writableMask.IsEmpty) writableMask.CopyTo(_writable.AsSpan(offset + 2));
        if (_lastCapability == 0) { _data[0x34] = (byte)offset; _data[0x06] |= 0x10; }
        else _data[_lastCapability + 1] = (byte)offset;
        _lastCapability = (byte)offset;
        NextFree = (offset + 2 + body.Length + 3) & ~3;
        return offset;
    }

    private int NextFree { get; set; } = 0x40;

    public void Read(int offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++) data[i] = offset + i < Size ? _data[offset + i] : (byte)0xFF;
    }

    /// <summary>Applies a guest write through the write masks; returns true when a BAR or the command register changed.</summary>
    public bool Write(int offset, ReadOnlySpan<byte> data)
    {
        bool mappingChanged = false;
        for (int i = 0; i < data.Length && offset + i < Size; i++)
        {
            int at = offset + i;
            byte mask = _writable[at];
            byte value = (byte)((_data[at] & ~mask) | (data[i] & mask));
            if (value != _data[at] && (at is >= 0x04 and < 0x06 || at is >= 0x10 and < 0x28)) mappingChanged = true;
            _data[at] = value;
        }
        return mappingChanged;
    }

    public Span<byte> Raw => _data;

    private void Writable(int offset, int length, uint mask)
    {
        for (int i = 0; i < length; i++) _writable[offset + i] = (byte)(mask >> (8 * i));
    }

    private void W16(int o, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(_data.AsSpan(o), v);
    private void W32(int o, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(_data.AsSpan(o), v);
    private uint R32(int o) => BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(o));
}
