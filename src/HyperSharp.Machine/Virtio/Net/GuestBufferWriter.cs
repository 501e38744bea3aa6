using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Net;

/// <summary>Copies a header and a frame, as one stream, across the device-writable buffers of one descriptor chain.</summary>
internal static class GuestBufferWriter
{
    /// <summary>Writes from <paramref name="position"/> in the stream header+frame; returns the bytes this chain took.</summary>
    public static uint Fill(GuestRam ram, DescriptorChain chain, ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame, ref int position)
    {
        uint written = 0;
        int total = header.Length + frame.Length;
        foreach (var buffer in chain.Buffers)
        {
            if (!buffer.DeviceWritable) continue;
            uint room = buffer.Length;
            ulong address = buffer.Address;
            while (room > 0 && position < total)
            {
                var source = position < header.Length ? header[position..] : frame[(position - header.Length)..];
                int n = (int)Math.Min(room, (uint)source.Length);
                source[..n].CopyTo(ram.GetSpan(address, n));
                ram.NotifyWritten(address, (ulong)n);
                (address, room, position, written) = (address + (ulong)n, room - (uint)n, position + n, written + (uint)n);
            }
            if (position == total) break;
        }
        return written;
    }
}
