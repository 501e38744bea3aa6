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
/// IOERR/UNSUPP; only a broken chain (no room for the status byte) is a queue error. Nothing here
/// allocates per request: buffers are walked as spans, scratch lives on the stack or in the shared pool.
/// Several queues call one handler at once; it keeps no state between requests.
/// </summary>
public sealed class VirtioBlockRequestHandler(GuestRam ram, IVirtualDisk disk, string serial)
{
    /// <summary>Runs the request; returns the number of bytes written into guest buffers (for the used ring).</summary>
    public uint Execute(DescriptorChain chain)
    {
        var buffers = chain.Buffers;
        if (buffers.Length == 0 || !buffers[^1].DeviceWritable || buffers[^1].Length < 1)
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
            (result, written) = Run(type, sector, buffers);
        }
        ram.Write(statusAddress, [result]);
        return written + 1;
    }

    private (byte Status, uint Written) Run(uint type, ulong sector, ReadOnlySpan<GuestBuffer> buffers)
    {
        try
        {
            switch (type)
            {
                case VirtioBlk.In: return Transfer(sector, buffers, toGuest: true);
                case VirtioBlk.Out:
                    if (disk.IsReadOnly) return (VirtioBlk.StatusIoError, 0);
                    return Transfer(sector, buffers, toGuest: false);
                case VirtioBlk.Flush:
                    disk.Flush();
                    return (VirtioBlk.StatusOk, 0);
                case VirtioBlk.GetId:
                    return WriteId(buffers);
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

    private (byte, uint) Transfer(ulong sector, ReadOnlySpan<GuestBuffer> buffers, bool toGuest)
    {
        long offset = checked((long)sector * VirtioBlk.SectorSize);
        uint total = 0;
        foreach (var (address, length, writable) in new DataBuffers(buffers))
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

    private (byte, uint) WriteId(ReadOnlySpan<GuestBuffer> buffers)
    {
        Span<byte> id = stackalloc byte[VirtioBlk.IdLength];
        id.Clear();
        Encoding.ASCII.GetBytes(serial.AsSpan(0, Math.Min(serial.Length, VirtioBlk.IdLength)), id);
        uint done = 0;
        foreach (var (address, length, writable) in new DataBuffers(buffers))
        {
            if (!writable || done >= id.Length) break;
            uint n = Math.Min(length, (uint)id.Length - done);
            ram.Write(address, id.Slice((int)done, (int)n));
            done += n;
        }
        return (VirtioBlk.StatusOk, done);
    }

    private (byte, uint) Unmap(ReadOnlySpan<GuestBuffer> buffers)
    {
        // The segments (16 bytes each) may straddle guest buffers: gathered into a pooled buffer first.
        byte[] pooled = ArrayPool<byte>.Shared.Rent(VirtioBlk.MaxUnmapPayload);
        try
        {
            int count = 0;
            foreach (var (address, length, writable) in new DataBuffers(buffers))
            {
                if (writable || count + (long)length > VirtioBlk.MaxUnmapPayload) return (VirtioBlk.StatusIoError, 0);
                ram.Read(address, pooled.AsSpan(count, (int)length));
                count += (int)length;
            }
            if (count == 0 || count % 16 != 0) return (VirtioBlk.StatusIoError, 0);
            for (int i = 0; i < count; i += 16)
            {
                ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(pooled.AsSpan(i));
                uint sectors = BinaryPrimitives.ReadUInt32LittleEndian(pooled.AsSpan(i + 8));
                long offset = (long)sector * VirtioBlk.SectorSize, length = (long)sectors * VirtioBlk.SectorSize;
                if (sector > long.MaxValue / VirtioBlk.SectorSize || offset + length > disk.Capacity) return (VirtioBlk.StatusIoError, 0);
                disk.Unmap(offset, length); // reads zeros afterwards: serves discard and write-zeroes alike
            }
            return (VirtioBlk.StatusOk, 0);
        }
        finally { ArrayPool<byte>.Shared.Return(pooled); }
    }

    /// <summary>Copies the first bytes of the request (the header) out of the device-readable buffers.</summary>
    private bool Gather(ReadOnlySpan<GuestBuffer> buffers, Span<byte> header)
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

    /// <summary>
    /// The data buffers of a request — everything between the 16-byte header and the status byte (the last byte of
    /// the last buffer) — enumerated over the chain's span, without an iterator object.
    /// </summary>
    private ref struct DataBuffers(ReadOnlySpan<GuestBuffer> buffers)
    {
        private readonly ReadOnlySpan<GuestBuffer> _buffers = buffers;
        private int _index = -1;
        private uint _skip = VirtioBlk.HeaderSize;

        public (ulong Address, uint Length, bool Writable) Current { get; private set; }

        public readonly DataBuffers GetEnumerator() => this;

        public bool MoveNext()
        {
            while (++_index < _buffers.Length)
            {
                var b = _buffers[_index];
                uint length = _index == _buffers.Length - 1 ? b.Length - 1 : b.Length;
                uint drop = Math.Min(_skip, length);
                _skip -= drop;
                if (length - drop > 0)
                {
                    Current = (b.Address + drop, length - drop, b.DeviceWritable);
                    return true;
                }
            }
            return false;
        }
    }
}
