using System.Buffers.Binary;
using HyperSharp.Networking.Frames;

namespace HyperSharp.Networking.Tests;

/// <summary>Builds real frames for tests: Ethernet with an optional 802.1Q tag, ARP, IPv4/UDP/ICMP, IPv6/UDP/ICMPv6, with valid checksums.</summary>
public static class TestFrames
{
    public static MacAddress Mac(int n) => new(0x0A4853_000000UL | (uint)n);

    public static byte[] Ethernet(MacAddress dst, MacAddress src, ushort type, ReadOnlySpan<byte> payload, ushort? vlan = null)
    {
        int header = vlan is null ? 14 : 18;
        var f = new byte[header + payload.Length];
        dst.Write(f);
        src.Write(f.AsSpan(6));
        if (vlan is ushort v)
        {
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), v);
        }
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(header - 2), type);
        payload.CopyTo(f.AsSpan(header));
        return f;
    }

    /// <summary>Any frame with a given payload size (for learning, flooding, bandwidth).</summary>
    public static byte[] Plain(MacAddress dst, MacAddress src, int payload = 46, ushort? vlan = null) => Ethernet(dst, src, 0x88B5, new byte[payload], vlan);

    public static byte[] Ipv4(byte protocol, byte[] source, byte[] destination, ReadOnlySpan<byte> body, ushort fragment = 0)
    {
        var p = new byte[20 + body.Length];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), fragment);
        p[8] = 64;
        p[9] = protocol;
        source.CopyTo(p, 12);
        destination.CopyTo(p, 16);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum(p.AsSpan(0, 20)));
        body.CopyTo(p.AsSpan(20));
        return p;
    }

    public static byte[] Udp(ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> data)
    {
        var u = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(u, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        data.CopyTo(u.AsSpan(8));
        return u; // checksum 0: "none" for IPv4
    }

    /// <summary>A DHCPv4 message body: op (1 request, 2 reply) and the rest zero.</summary>
    public static byte[] Bootp(byte op) { var b = new byte[240]; b[0] = op; return b; }

    public static byte[] Ipv6(byte next, ReadOnlySpan<byte> body)
    {
        var p = new byte[40 + body.Length];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)body.Length);
        p[6] = next;
        p[7] = 255;
        p[8] = 0xFE; p[9] = 0x80; p[23] = 1;   // fe80::1
        p[24] = 0xFF; p[25] = 0x02; p[39] = 1; // ff02::1
        body.CopyTo(p.AsSpan(40));
        return p;
    }

    /// <summary>An IPv6 extension header (hop-by-hop, routing or destination options) of 8 bytes in front of <paramref name="body"/>.</summary>
    public static byte[] Extension(byte next, ReadOnlySpan<byte> body) { var e = new byte[8 + body.Length]; e[0] = next; body.CopyTo(e.AsSpan(8)); return e; }

    public static byte[] Icmp(byte type) => [type, 0, 0, 0, 0, 0, 0, 0];

    public static byte[] Ipv4Frame(MacAddress dst, MacAddress src, byte protocol, ReadOnlySpan<byte> body, ushort? vlan = null) =>
        Ethernet(dst, src, EthernetHeader.EtherTypeIPv4, Ipv4(protocol, [10, 0, 0, 1], [10, 0, 0, 255], body), vlan);

    public static byte[] Ipv6Frame(MacAddress dst, MacAddress src, byte next, ReadOnlySpan<byte> body) =>
        Ethernet(dst, src, EthernetHeader.EtherTypeIPv6, Ipv6(next, body));

    /// <summary>An ARP reply saying <paramref name="ip"/> is at <paramref name="mac"/>, to <paramref name="toMac"/>/<paramref name="toIp"/>.</summary>
    public static byte[] ArpReply(MacAddress mac, byte[] ip, MacAddress toMac, byte[] toIp)
    {
        var a = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(a, 1);
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(2), 0x0800);
        a[4] = 6; a[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(6), 2);
        mac.Write(a.AsSpan(8)); ip.CopyTo(a, 14);
        toMac.Write(a.AsSpan(18)); toIp.CopyTo(a, 24);
        return Ethernet(toMac, mac, EthernetHeader.EtherTypeArp, a);
    }

    /// <summary>An ARP responder for a test port: answers requests for <paramref name="ip"/> with <paramref name="mac"/>.</summary>
    public static Func<byte[], byte[]?> ArpResponder(MacAddress mac, byte[] ip) => f =>
        f.Length >= 42 && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)) == EthernetHeader.EtherTypeArp
            && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(20)) == 1 && f.AsSpan(38, 4).SequenceEqual(ip)
            ? ArpReply(mac, ip, MacAddress.Read(f.AsSpan(22)), f[28..32]) : null;

    /// <summary>The UDP payload of an IPv4 frame to <paramref name="port"/>, or null.</summary>
    public static byte[]? UdpPayload(byte[] f, ushort port)
    {
        if (f.Length < 42 || BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)) != EthernetHeader.EtherTypeIPv4 || f[23] != 17) return null;
        int ihl = (f[14] & 0xF) * 4;
        if (BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(14 + ihl + 2)) != port) return null;
        int length = BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(14 + ihl + 4)) - 8;
        return f.AsSpan(14 + ihl + 8, length).ToArray();
    }

    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (data.Length % 2 == 1) sum += (uint)data[^1] << 8;
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
