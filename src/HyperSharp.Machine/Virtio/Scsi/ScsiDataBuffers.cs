using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// The data areas of one virtio-scsi request inside its descriptor chain: data-out is every device-readable byte after the
/// request header, data-in every device-writable byte after the response header (the driver may split either anywhere).
/// Reads and writes go straight between guest RAM and the caller's span or the disk; nothing is allocated. Valid while
/// the request is served: the chain is its queue's, reused for the next request.
/// </summary>
internal readonly struct ScsiDataBuffers(GuestRam ram, DescriptorChain chain, int requestSize, int responseSize)
{
    public GuestRam Ram => ram;

    /// <summary>Every device-writable byte of the chain, response header included.</summary>
    public long WritableBytes { get; } = (long)chain.WritableBytes;

    /// <summary>Bytes the initiator sent after the request header (a WRITE's data, an UNMAP parameter list).</summary>
    public long OutLength { get; } = Math.Max(0, (long)chain.ReadableBytes - requestSize);

    /// <summary>Room the initiator gave after the response header for data the device returns.</summary>
    public long InLength => Math.Max(0, WritableBytes - responseSize);

    /// <summary>The guest ranges of the data-in (<paramref name="dataIn"/>) or data-out area, from its start.</summary>
    public Segments Areas(bool dataIn) => new(chain, dataIn, dataIn ? responseSize : requestSize);

    /// <summary>Copies the request header (the first device-readable bytes) into <paramref name="destination"/>; returns how many there were.</summary>
    public int ReadRequest(Span<byte> destination) => Gather(new Segments(chain, writable: false, skip: 0), destination);

    /// <summary>Writes the response header and sense (the first device-writable bytes), as much as fits; returns the bytes written.</summary>
    public int WriteResponse(ReadOnlySpan<byte> source) => Scatter(new Segments(chain, writable: true, skip: 0), source);

    /// <summary>Copies <paramref name="source"/> to the start of the data-in area, as much as fits; returns the bytes copied.</summary>
    public int WriteIn(ReadOnlySpan<byte> source) => Scatter(Areas(dataIn: true), source);

    /// <summary>Copies the first bytes of the data-out area into <paramref name="destination"/>; returns how many there were.</summary>
    public int ReadOut(Span<byte> destination) => Gather(Areas(dataIn: false), destination);

    private int Scatter(Segments segments, ReadOnlySpan<byte> source)
    {
        int done = 0;
        foreach (var (address, length) in segments)
        {
            if (done == source.Length) break;
            int n = (int)Math.Min(length, (uint)(source.Length - done));
            ram.Write(address, source.Slice(done, n));
            done += n;
        }
        return done;
    }

    private int Gather(Segments segments, Span<byte> destination)
    {
        int done = 0;
        foreach (var (address, length) in segments)
        {
            if (done == destination.Length) break;
            int n = (int)Math.Min(length, (uint)(destination.Length - done));
            ram.Read(address, destination.Slice(done, n));
            done += n;
        }
        return done;
    }

    /// <summary>Walks the buffers of one direction, skipping the header bytes at its start; yields (guest address, length).</summary>
    public struct Segments(DescriptorChain chain, bool writable, int skip)
    {
        private int _index = -1;
        private int _skip = skip;

        public (ulong Address, uint Length) Current { get; private set; }

        public readonly Segments GetEnumerator() => this;

        public bool MoveNext()
        {
            while (++_index < chain.Count)
            {
                var b = chain.Buffers[_index];
                if (b.DeviceWritable != writable) continue;
                uint drop = (uint)Math.Min(_skip, b.Length);
                _skip -= (int)drop;
                if (b.Length == drop) continue;
                Current = (b.Address + drop, b.Length - drop);
                return true;
            }
            return false;
        }
    }
}
