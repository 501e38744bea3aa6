using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine.Virtio.Block;

/// <summary>
/// Executes one virtio-blk request against a disk: reads and writes straight between guest
/// buffers and the image (no bounce copy when a buffer is contiguous guest RAM), flush, and
/// discard / write-zeroes mapped to the image's unmap. A malformed request fails with
/// IOERR/UNSUPP; only a broken chain (no room for the status byte) is a queue error.
/// </summary>
public sealed class VirtioBlockRequestHandler(GuestRam ram, IVirtualDisk disk, string serial)
{
    /// <summary>Runs the request; returns the number of bytes written into guest buffers (for the used ring).</summary>
    public uint Execute(DescriptorChain chain)
    {
        var buffers = chain.Buffers;
        if (buffers.Count == 0 || !buffers[^1].DeviceWritable || buffers[^1].Length < 1)
            throw new VirtqueueException("a block request has no device-writable status byte at its end");
        var status = buffers[^1];
        ulong statusAddress = status.Address + status.Length - 1;
        Span<byte> header = stackalloc byte[VirtioBlk.HeaderSize];
        byte result;
        uint written = 0;
        if (!Gather(buffers, header))
            result = VirtioBlk.StatusIoError;
        else
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            (result, written) = Run(type, sector, buffers, status);
        }
        ram.Write(statusAddress, [result]);
        return written + 1;
    }

    private (byte Status, uint Written) Run(uint type, ulong sector, IReadOnlyList<GuestBuffer> buffers, GuestBuffer status)
    {
        try
        {
            switch (type)
            {
                case VirtioBlk.In: return Transfer(sector, buffers, status, toGuest: true);
                case VirtioBlk.Out:
                    if (disk.IsReadOnly) return (VirtioBlk.StatusIoError, 0);
                    return Transfer(sector, buffers, status, toGuest: false);
                case VirtioBlk.Flush:
                    disk.Flush();
                    return (VirtioBlk.StatusOk, 0);
                case VirtioBlk.GetId:
                    return WriteId(buffers, status);
                case VirtioBlk.Discard or VirtioBlk.WriteZeroes:
                    if (disk.IsReadOnly) return (VirtioBlk.StatusIoError, 0);
                    return Unmap(buffers);
                default:
                    return (VirtioBlk.StatusUnsupported, 0);
            }
        }
        catch (Exception e) when (e is VirtualDiskException or ArgumentOutOfRangeException or IOException)
        {
            return (VirtioBlk.StatusIoError, 0);
        }
    }

    /// <summary>The data buffers: everything between the 16-byte header and the status byte.</summary>
    private static IEnumerable<(ulong Address, uint Length, bool Writable)> DataBuffers(IReadOnlyList<GuestBuffer> buffers, GuestBuffer status)
    {
        uint skip = VirtioBlk.HeaderSize;
        for (int i = 0; i < buffers.Count; i++)
        {
            var b = buffers[i];
            uint length = b.Length;
            ulong address = b.Address;
            if (i == buffers.Count - 1) length -= 1; // the status byte is the last byte of the last buffer
            uint drop = Math.Min(skip, length);
            skip -= drop;
            if (length - drop > 0) yield return (address + drop, length - drop, b.DeviceWritable);
        }
    }

    private (byte, uint) Transfer(ulong sector, IReadOnlyList<GuestBuffer> buffers, GuestBuffer status, bool toGuest)
    {
        long offset = checked((long)sector * VirtioBlk.SectorSize);
        uint total = 0;
        foreach (var (address, length, writable) in DataBuffers(buffers, status))
        {
            if (writable != toGuest) return (VirtioBlk.StatusIoError, 0); // a read needs writable buffers, a write readable ones
            if (length % VirtioBlk.SectorSize != 0 || total + (ulong)length > VirtioBlk.MaxRequestBytes) return (VirtioBlk.StatusIoError, 0);
            var span = ram.GetSpan(address, (int)length);
            if (offset < 0 || offset + length > disk.Capacity) return (VirtioBlk.StatusIoError, total);
            if (toGuest) { disk.Read(offset, span); ram.NotifyWritten(address, length); }
            else disk.Write(offset, span);
            offset += length;
            total += length;
        }
        return (VirtioBlk.StatusOk, toGuest ? total : 0);
    }

    private (byte, uint) WriteId(IReadOnlyList<GuestBuffer> buffers, GuestBuffer status)
    {
        var id = new byte[VirtioBlk.IdLength];
        Encoding.ASCII.GetBytes(serial.Length > VirtioBlk.IdLength ? serial[..VirtioBlk.IdLength] : serial).CopyTo(id, 0);
        uint done = 0;
        foreach (var (address, length, writable) in DataBuffers(buffers, status))
        {
            if (!writable || done >= id.Length) break;
            uint n = Math.Min(length, (uint)id.Length - done);
            ram.Write(address, id.AsSpan((int)done, (int)n));
            done += n;
        }
        return (VirtioBlk.StatusOk, done);
    }

    private (byte, uint) Unmap(IReadOnlyList<GuestBuffer> buffers)
    {
        var payload = new List<byte>();
        var status = buffers[^1];
        foreach (var (address, length, writable) in DataBuffers(buffers, status))
        {
            if (writable || payload.Count + (long)length > 16 * 4096) return (VirtioBlk.StatusIoError, 0);
            payload.AddRange(ram.GetSpan(address, (int)length).ToArray());
        }
        if (payload.Count == 0 || payload.Count % 16 != 0) return (VirtioBlk.StatusIoError, 0);
        var bytes = payload.ToArray();
        for (int i = 0; i < bytes.Length; i += 16)
        {
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i));
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i + 8));
            long offset = (long)sector * VirtioBlk.SectorSize, length = (long)count * VirtioBlk.SectorSize;
            if (sector > long.MaxValue / VirtioBlk.SectorSize || offset + length > disk.Capacity) return (VirtioBlk.StatusIoError, 0);
            disk.Unmap(offset, length); // reads zeros afterwards: serves discard and write-zeroes alike
        }
        return (VirtioBlk.StatusOk, 0);
    }

    /// <summary>Copies the first bytes of the request (the header) out of the device-readable buffers.</summary>
    private bool Gather(IReadOnlyList<GuestBuffer> buffers, Span<byte> header)
    {
        int done = 0;
        foreach (var b in buffers)
        {
            if (b.DeviceWritable || done == header.Length) break;
            int n = (int)Math.Min(b.Length, (uint)(header.Length - done));
            ram.Read(b.Address, header.Slice(done, n));
            done += n;
        }
        return done == header.Length;
    }
}
