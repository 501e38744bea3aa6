using System.Buffers.Binary;

namespace HyperSharp.Machine.Virtio.Net;

/// <summary>
/// Picks a receive queue per flow (addresses and, for TCP/UDP, ports), so one connection's frames
/// stay in order on one queue while different connections spread over the guest's vCPUs.
/// </summary>
internal static class FlowHash
{
    public static int Of(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14) return 0;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        var ip = frame[14..];
        uint hash = 2166136261;
        int ports;
        if (type == 0x0800 && ip.Length >= 20)
        {
            hash = Mix(hash, ip.Slice(12, 8));
            int headerLength = (ip[0] & 0xF) * 4;
            bool firstFragment = (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1FFF) == 0;
            ports = ip[9] is 6 or 17 && firstFragment && (ip[6] & 0x20) == 0 ? headerLength : -1;
        }
        else if (type == 0x86DD && ip.Length >= 40)
        {
            hash = Mix(hash, ip.Slice(8, 32));
            ports = ip[6] is 6 or 17 ? 40 : -1;
        }
        else return 0;
        if (ports >= 0 && ip.Length >= ports + 4) hash = Mix(hash, ip.Slice(ports, 4));
        return (int)(hash & 0x7FFF_FFFF);
    }

    private static uint Mix(uint hash, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) hash = (hash ^ b) * 16777619;
        return hash;
    }
}
