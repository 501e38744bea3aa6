using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace HyperSharp.Networking.Frames;

/// <summary>
/// The Internet checksum (RFC 1071) for NIC offloads: completing a checksum a guest left partial,
/// and verifying a TCP/UDP checksum so the guest can be told the data is valid. Sums are kept in
/// little-endian 16-bit words (the one's-complement sum is byte-order independent, RFC 1071 §2(B)),
/// eight bytes at a time.
/// </summary>
public static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> to a running sum, words aligned to the start of the span.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, uint>(data[..(data.Length & ~3)]);
        foreach (uint w in words) sum += w;
        int rest = data.Length & ~3;
        if (data.Length - rest >= 2) { sum += BinaryPrimitives.ReadUInt16LittleEndian(data[rest..]); rest += 2; }
        if (rest < data.Length) sum += data[rest]; // an odd last byte is the high-order byte of a zero-padded big-endian word
        return sum;
    }

    /// <summary>Folds a sum to 16 bits (still in little-endian word order).</summary>
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>
    /// Completes a partial checksum (virtio NEEDS_CSUM): sums the frame from <paramref name="start"/> to its end — the field
    /// at start + <paramref name="offset"/> holds the pseudo-header sum — and stores the complement there. False if out of range.
    /// </summary>
    public static bool Complete(Span<byte> frame, int start, int offset)
    {
        if (start < 0 || offset < 0 || start > frame.Length || (long)start + offset + 2 > frame.Length) return false;
        ushort result = (ushort)~Fold(Add(0, frame[start..]));
        BinaryPrimitives.WriteUInt16LittleEndian(frame[(start + offset)..], result);
        return true;
    }

    /// <summary>True when an untagged Ethernet frame carries IPv4/IPv6 TCP or UDP whose checksum is correct (UDP over IPv4 without one counts).</summary>
    public static bool TransportChecksumValid(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < EthernetHeader.Length + 20) return false;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        var ip = frame[EthernetHeader.Length..];
        ulong pseudo;
        ReadOnlySpan<byte> segment;
        byte protocol;
        if (type == EthernetHeader.EtherTypeIPv4 && ip[0] >> 4 == 4)
        {
            int headerLength = (ip[0] & 0xF) * 4, total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            if (headerLength < 20 || total < headerLength || total > ip.Length) return false;
            if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0) return false; // fragments are checked after reassembly
            protocol = ip[9];
            segment = ip[headerLength..total];
            pseudo = Add(0, ip.Slice(12, 8));
        }
        else if (type == EthernetHeader.EtherTypeIPv6 && ip.Length >= 40 && ip[0] >> 4 == 6)
        {
            int payload = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
            if (40 + payload > ip.Length) return false;
            protocol = ip[6]; // extension headers: left to the guest
            segment = ip.Slice(40, payload);
            pseudo = Add(0, ip.Slice(8, 32));
        }
        else return false;
        if (protocol is not (6 or 17) || segment.Length < (protocol == 6 ? 20 : 8)) return false;
        if (protocol == 17 && type == EthernetHeader.EtherTypeIPv4 && BinaryPrimitives.ReadUInt16BigEndian(segment[6..]) == 0) return true;
        pseudo += BinaryPrimitives.ReverseEndianness((ushort)protocol) + (ulong)BinaryPrimitives.ReverseEndianness((ushort)segment.Length);
        return Fold(Add(pseudo, segment)) == 0xFFFF;
    }
}
