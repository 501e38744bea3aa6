using System.Net.Sockets;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// A packet's bytes in a descriptor chain, which the guest may split anywhere (Linux 6.1 puts the header and the
/// payload in separate buffers, later kernels in one): the header gathered from the device-readable buffers, the
/// payload walked as spans over guest memory, and the receive side's header and payload scattered into the
/// device-writable ones. No copy of payload bytes on the host.
/// </summary>
internal static class VsockChains
{
    public static ulong Readable(DescriptorChain chain)
    {
        ulong total = 0;
        foreach (var b in chain.Buffers) if (!b.DeviceWritable) total += b.Length;
        return total;
    }

    public static ulong Writable(DescriptorChain chain)
    {
        ulong total = 0;
        foreach (var b in chain.Buffers) if (b.DeviceWritable) total += b.Length;
        return total;
    }

    /// <summary>Copies the first <paramref name="into"/>.Length device-readable bytes; the caller checked there are that many.</summary>
    public static void Gather(GuestRam ram, DescriptorChain chain, Span<byte> into)
    {
        int have = 0;
        foreach (var b in chain.Buffers)
        {
            if (b.DeviceWritable || have == into.Length) break;
            int n = (int)Math.Min(b.Length, (uint)(into.Length - have));
            ram.GetSpan(b.Address, n).CopyTo(into[have..]);
            have += n;
        }
    }

    /// <summary>
    /// The <paramref name="index"/>th piece of the device-readable bytes from <paramref name="offset"/> to
    /// offset + <paramref name="length"/>, or an empty span past the end. Walking by index keeps a span out of any loop state.
    /// </summary>
    public static Span<byte> ReadablePiece(GuestRam ram, DescriptorChain chain, uint offset, uint length, int index)
    {
        ulong start = 0, end = (ulong)offset + length;
        int seen = 0;
        foreach (var b in chain.Buffers)
        {
            if (b.DeviceWritable) break;
            ulong bufferEnd = start + b.Length;
            ulong from = Math.Max(start, offset), to = Math.Min(bufferEnd, end);
            if (to > from)
            {
                if (seen == index) return ram.GetSpan(b.Address + (from - start), (int)(to - from));
                seen++;
            }
            start = bufferEnd;
            if (start >= end) break;
        }
        return [];
    }

    /// <summary>Writes a header-only packet; returns the bytes written.</summary>
    public static uint WriteHeader(GuestRam ram, DescriptorChain chain, in VsockHeader header)
    {
        Span<byte> bytes = stackalloc byte[VsockHeader.Size];
        header.Write(bytes);
        int position = 0;
        return Net.GuestBufferWriter.Fill(ram, chain, bytes, [], ref position);
    }

    /// <summary>
    /// Reads up to <paramref name="max"/> bytes from a non-blocking socket straight into the chain's writable buffers after
    /// the header's place; returns the bytes read (0 when the socket had none after all) or the socket's error.
    /// </summary>
    public static int ReceivePayload(GuestRam ram, DescriptorChain chain, Socket socket, int max, out SocketError error)
    {
        error = SocketError.Success;
        int got = 0;
        ulong skip = VsockHeader.Size;
        foreach (var b in chain.Buffers)
        {
            if (!b.DeviceWritable) continue;
            if (skip >= b.Length) { skip -= b.Length; continue; }
            ulong address = b.Address + skip;
            int room = (int)Math.Min(b.Length - skip, (ulong)(max - got));
            skip = 0;
            if (room <= 0) break;
            int n = socket.Receive(ram.GetSpan(address, room), SocketFlags.None, out error);
            if (error != SocketError.Success) { if (error == SocketError.WouldBlock) error = SocketError.Success; break; }
            ram.NotifyWritten(address, (ulong)n);
            got += n;
            if (n < room || got == max) break;
        }
        return got;
    }
}
