using System.Buffers.Binary;

namespace HyperSharp.Networking.Frames;

/// <summary>
/// The parsed start of an Ethernet II frame: addresses, an optional 802.1Q tag and the EtherType
/// of what follows. Parsing never trusts the frame: anything shorter than a header, or a tag that
/// is cut off, is refused, and offsets are only produced inside the frame.
/// </summary>
public readonly record struct EthernetHeader(MacAddress Destination, MacAddress Source, bool Tagged, ushort VlanId, ushort EtherType, int PayloadOffset)
{
    public const int Length = 14, TagLength = 4;
    public const ushort EtherTypeVlan = 0x8100, EtherTypeIPv4 = 0x0800, EtherTypeIPv6 = 0x86DD, EtherTypeArp = 0x0806;

    /// <summary>Largest frame the switch carries: a 9000-byte jumbo payload, header and one VLAN tag (no FCS).</summary>
    public const int MaxFrameLength = 9000 + Length + TagLength;

    /// <summary>Parses the header; false for runts and oversized frames.</summary>
    public static bool TryParse(ReadOnlySpan<byte> frame, out EthernetHeader header)
    {
        header = default;
        if (frame.Length < Length || frame.Length > MaxFrameLength) return false;
        var destination = MacAddress.Read(frame);
        var source = MacAddress.Read(frame[6..]);
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        if (type != EtherTypeVlan)
        {
            header = new EthernetHeader(destination, source, false, 0, type, Length);
            return true;
        }
        if (frame.Length < Length + TagLength) return false;
        ushort tci = BinaryPrimitives.ReadUInt16BigEndian(frame[14..]);
        header = new EthernetHeader(destination, source, true, (ushort)(tci & 0x0FFF), BinaryPrimitives.ReadUInt16BigEndian(frame[16..]), Length + TagLength);
        return true;
    }
}
