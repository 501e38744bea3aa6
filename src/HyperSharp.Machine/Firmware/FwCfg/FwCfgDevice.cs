using System.Buffers.Binary;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Memory;

namespace HyperSharp.Machine.Firmware.FwCfg;

/// <summary>
/// QEMU's firmware configuration interface on x86 ports, as SeaBIOS and OVMF use it: the selector at 0x510 (16-bit
/// key), the data port at 0x511 (one byte per read, the offset advancing), and the DMA address register at 0x514
/// (big-endian, high half then low half; writing the low half runs the transfer the guest described in its memory).
/// Items are read-only: a DMA write is answered with the error bit. Every guest-given address and length is checked
/// against guest RAM; a bad one ends the transfer with the error bit, never reaches host memory.
/// </summary>
public sealed class FwCfgDevice(FwCfgItems items, GuestRam ram) : IPortIoDevice
{
    public const ushort BasePort = 0x510;
    public const ulong Length = 12; // 0x510-0x51B
    private const ulong SelectorOffset = 0, DataOffset = 1, DmaHighOffset = 4, DmaLowOffset = 8;
    private const ulong DmaSignature = 0x51454D5520434647; // "QEMU CFG", read back from the DMA register

    /// <summary>Control bits of a DMA access (FWCfgDmaAccess.control).</summary>
    private const uint DmaError = 0x01, DmaRead = 0x02, DmaSkip = 0x04, DmaSelect = 0x08, DmaWrite = 0x10;
    private const int DmaAccessSize = 16, ChunkSize = 64 * 1024;

    private readonly object _lock = new();
    private ushort _key;
    private uint _offset;
    private uint _dmaHigh;

    public string Name => "fw-cfg";

    public void Read(ulong offset, Span<byte> data)
    {
        lock (_lock)
        {
            if (offset == DataOffset)
            {
                var item = items[_key];
                for (int i = 0; i < data.Length; i++) data[i] = _offset < item.Length ? item[_offset++] : (byte)0;
                return;
            }
            if (offset >= DmaHighOffset)
            {
                Span<byte> signature = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64BigEndian(signature, DmaSignature);
                for (int i = 0; i < data.Length; i++) data[i] = offset - DmaHighOffset + (ulong)i < 8 ? signature[(int)(offset - DmaHighOffset) + i] : (byte)0;
                return;
            }
            data.Clear(); // the selector is write-only
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            switch (offset)
            {
                case SelectorOffset:
                    Select(data.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(data) : data[0]);
                    break;
                case DataOffset:
                    break; // data-port writes were dropped from the interface: ignored, as QEMU does
                case DmaHighOffset when data.Length == 4:
                    _dmaHigh = BinaryPrimitives.ReadUInt32BigEndian(data);
                    break;
                case DmaLowOffset when data.Length == 4:
                    ulong access = (ulong)_dmaHigh << 32 | BinaryPrimitives.ReadUInt32BigEndian(data);
                    _dmaHigh = 0;
                    RunDma(access);
                    break;
                default:
                    throw new FwCfgException($"a {data.Length}-byte write at port 0x{BasePort + offset:X}: the selector takes 2 bytes at 0x510, the DMA address 4 bytes at 0x514 and 0x518");
            }
        }
    }

    private void Select(ushort key)
    {
        _key = key;
        _offset = 0;
    }

    /// <summary>Runs the access at guest-physical <paramref name="access"/> and writes its outcome into its control word.</summary>
    private void RunDma(ulong access)
    {
        if (!ram.Contains(access, DmaAccessSize))
            throw new FwCfgException($"DMA access structure at 0x{access:X} is outside guest RAM");
        Span<byte> header = stackalloc byte[DmaAccessSize];
        ram.Read(access, header);
        uint control = BinaryPrimitives.ReadUInt32BigEndian(header);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        ulong address = BinaryPrimitives.ReadUInt64BigEndian(header[8..]);
        if ((control & DmaSelect) != 0) Select((ushort)(control >> 16));
        bool ok = (control & (DmaRead | DmaWrite | DmaSkip)) switch
        {
            0 => true,                                     // a bare select
            DmaRead => CopyToGuest(address, length),
            DmaSkip => Skip(length),
            _ => false,                                    // writes (items are read-only) or more than one operation
        };
        Span<byte> result = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(result, ok ? 0 : DmaError);
        ram.Write(access, result);
    }

    private bool Skip(uint length)
    {
        _offset = (uint)Math.Min((ulong)_offset + length, (ulong)items[_key].Length);
        return true;
    }

    /// <summary>Copies the selected item from the current offset; past its end the guest gets zeros, as the interface says.</summary>
    private bool CopyToGuest(ulong address, uint length)
    {
        if (length > 0 && !ram.Contains(address, length)) return false;
        var item = items[_key];
        ulong done = 0;
        while (done < length)
        {
            int chunk = (int)Math.Min(ChunkSize, length - done);
            var target = ram.GetSpan(address + done, chunk);
            int available = (int)Math.Clamp((long)item.Length - _offset, 0, chunk);
            item.AsSpan((int)Math.Min(_offset, (uint)item.Length), available).CopyTo(target);
            target[available..].Clear();
            ram.NotifyWritten(address + done, (ulong)chunk);
            _offset = (uint)Math.Min((ulong)_offset + (ulong)available, (ulong)item.Length);
            done += (ulong)chunk;
        }
        return true;
    }

    public FwCfgState SaveState() { lock (_lock) return new FwCfgState(_key, _offset, _dmaHigh); }

    public void RestoreState(FwCfgState s) { lock (_lock) (_key, _offset, _dmaHigh) = (s.Key, s.Offset, s.DmaHigh); }
}

/// <summary>A guest's misuse of the firmware configuration interface (the bus logs it; the guest reads all-ones).</summary>
public sealed class FwCfgException(string message) : Exception($"fw_cfg: {message}");
