using System.Buffers.Binary;
using HyperSharp.Networking.Frames;

namespace HyperSharp.Machine.Migration;

/// <summary>
/// Tells the network where a migrated VM's adapters are now: once the VM runs on the destination, each connected adapter
/// sends a few RARP requests (RFC 903, reverse request) with its own MAC as the source, through its switch port. Every
/// switch on the way — ours, a Linux bridge on an External switch's uplink, a physical one — learns the MAC on the new
/// port from them, before the guest itself says anything; the guest's IP is not known to us, so no gratuitous ARP.
/// Several rounds, spaced out, because a frame can be lost while the ports come up.
/// </summary>
public static class MacAnnounce
{
    /// <summary>When each round goes, counted from the start: five rounds within half a second.</summary>
    private static readonly int[] RoundsMs = [0, 50, 150, 300, 500];

    private const ushort EtherTypeRarp = 0x8035, RequestReverse = 3;
    private const int MinimumFrame = 60; // Ethernet's minimum without the FCS: the payload is padded

    /// <summary>Starts the rounds for <paramref name="vm"/>'s adapters in the background; completes after the last one.</summary>
    public static Task Start(VirtualMachine vm, Action<string> log) => Task.Run(async () =>
    {
        int sent = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (int at in RoundsMs)
        {
            var wait = TimeSpan.FromMilliseconds(at) - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait).ConfigureAwait(false);
            foreach (var adapter in vm.NetworkAdapters)
            {
                try { if (adapter.SendFromHost(Frame(adapter.Mac))) sent++; }
                catch (ObjectDisposedException) { return; } // the VM went away meanwhile: nothing left to announce
            }
        }
        if (vm.NetworkAdapters.Count > 0) log($"migration: announced {vm.NetworkAdapters.Count} adapters' MACs ({sent} RARP frames in {RoundsMs.Length} rounds)");
    });

    /// <summary>One RARP reverse request from <paramref name="mac"/>, broadcast, naming <paramref name="mac"/> as both sender and target.</summary>
    public static byte[] Frame(MacAddress mac)
    {
        var frame = new byte[MinimumFrame];
        MacAddress.Broadcast.Write(frame);
        mac.Write(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherTypeRarp);
        var rarp = frame.AsSpan(EthernetHeader.Length);
        BinaryPrimitives.WriteUInt16BigEndian(rarp, 1);                                     // hardware: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(rarp[2..], EthernetHeader.EtherTypeIPv4);   // protocol: IPv4
        rarp[4] = 6;                                                                        // hardware address length
        rarp[5] = 4;                                                                        // protocol address length
        BinaryPrimitives.WriteUInt16BigEndian(rarp[6..], RequestReverse);
        mac.Write(rarp[8..]);                                                               // sender: the adapter, IP 0.0.0.0
        mac.Write(rarp[18..]);                                                              // target: the adapter, IP 0.0.0.0
        return frame;
    }
}
