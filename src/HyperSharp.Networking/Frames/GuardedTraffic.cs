using System.Buffers.Binary;

namespace HyperSharp.Networking.Frames;

/// <summary>What a guard policy looks for in a frame; Evasive is a chain of IPv6 extension headers too long to inspect, dropped by either guard.</summary>
public enum GuardedKind { None, DhcpServer, RouterMessage, Evasive }

/// <summary>
/// Finds the traffic that DHCP guard and router guard drop: DHCP server messages (IPv4 UDP from
/// port 67 — offers, acks, naks — and DHCPv6 advertise, reply, reconfigure and relay-reply from
/// port 547), ICMPv4 router advertisements and redirects, ICMPv6 router advertisements and
/// redirects. IPv6 extension headers are walked (a bounded number) so they cannot hide a message;
/// headers that are cut short count as nothing to guard, as the receiver would drop them too.
/// </summary>
public static class GuardedTraffic
{
    private const byte ProtoIcmp = 1, ProtoUdp = 17, ProtoIcmpV6 = 58;
    private const int MaxExtensionHeaders = 8;

    public static GuardedKind Inspect(ushort etherType, ReadOnlySpan<byte> payload) => etherType switch
    {
        EthernetHeader.EtherTypeIPv4 => InspectIPv4(payload),
        EthernetHeader.EtherTypeIPv6 => InspectIPv6(payload),
        _ => GuardedKind.None,
    };

    private static GuardedKind InspectIPv4(ReadOnlySpan<byte> ip)
    {
        if (ip.Length < 20 || ip[0] >> 4 != 4) return GuardedKind.None;
        int headerLength = (ip[0] & 0xF) * 4;
        if (headerLength < 20 || headerLength > ip.Length) return GuardedKind.None;
        if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1FFF) != 0) return GuardedKind.None; // later fragments carry no transport header
        var body = ip[headerLength..];
        return ip[9] switch
        {
            ProtoUdp when body.Length >= 8 => Dhcp4(body),
            ProtoIcmp when body.Length >= 1 && body[0] is 9 or 5 => GuardedKind.RouterMessage, // router advertisement, redirect
            _ => GuardedKind.None,
        };
    }

    private static GuardedKind Dhcp4(ReadOnlySpan<byte> udp)
    {
        ushort source = BinaryPrimitives.ReadUInt16BigEndian(udp), destination = BinaryPrimitives.ReadUInt16BigEndian(udp[2..]);
        if (source != 67) return GuardedKind.None;
        if (destination == 68) return GuardedKind.DhcpServer;
        // Server to relay agent (67 -> 67): a BOOTREPLY (op 2) is a server message; a relayed request is not.
        return destination == 67 && udp.Length > 8 && udp[8] == 2 ? GuardedKind.DhcpServer : GuardedKind.None;
    }

    private static GuardedKind InspectIPv6(ReadOnlySpan<byte> ip)
    {
        if (ip.Length < 40 || ip[0] >> 4 != 6) return GuardedKind.None;
        byte next = ip[6];
        var rest = ip[40..];
        for (int i = 0; i < MaxExtensionHeaders; i++)
        {
            switch (next)
            {
                case 0 or 43 or 60: // hop-by-hop, routing, destination options
                    if (rest.Length < 8) return GuardedKind.None;
                    int length = (rest[1] + 1) * 8;
                    if (length > rest.Length) return GuardedKind.None;
                    next = rest[0];
                    rest = rest[length..];
                    continue;
                case 44: // fragment: only the first fragment holds the upper-layer header
                    if (rest.Length < 8 || (BinaryPrimitives.ReadUInt16BigEndian(rest[2..]) & 0xFFF8) != 0) return GuardedKind.None;
                    next = rest[0];
                    rest = rest[8..];
                    continue;
                case ProtoIcmpV6:
                    return rest.Length >= 1 && rest[0] is 134 or 137 ? GuardedKind.RouterMessage : GuardedKind.None;
                case ProtoUdp:
                    return rest.Length >= 9 && BinaryPrimitives.ReadUInt16BigEndian(rest) == 547 && rest[8] is 2 or 7 or 10 or 13
                        ? GuardedKind.DhcpServer : GuardedKind.None; // advertise, reply, reconfigure, relay-reply
                default:
                    return GuardedKind.None;
            }
        }
        return GuardedKind.Evasive;
    }
}
