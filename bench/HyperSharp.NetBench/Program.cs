using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;
using HyperSharp.Networking.Switching;
using HyperSharp.Networking.Tests;

// Forwarding rate of our switch against the Linux bridge, in one run (run under `taskset -c 0` for one core):
//   core    — our switch alone: frames handed to a port in-process, counted at the other port's link
//   packet  — our switch between two veths through packet sockets (what an External switch does)
//   bridge  — the Linux bridge between the same two veths
// For packet and bridge the same sender writes frames into veth a0 through a packet socket and the
// same receiver counts them out of veth b0: a0 <-> a1 [switch or bridge] b1 <-> b0.
double seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 3;
int[] sizes = [64, 1500];
var results = new List<(int Size, double Core, double Packet, double Bridge)>();

var (ns, why) = NetworkNamespace.Create();
if (ns is null) { Console.Error.WriteLine($"needs root and iproute2: {why}"); return 1; }
using (ns)
{
    foreach (var (a, b) in new[] { ("a0", "a1"), ("b0", "b1") })
    {
        ns.Ip("link", "add", a, "type", "veth", "peer", "name", b);
        ns.Ip("link", "set", a, "up");
        ns.Ip("link", "set", b, "up");
    }
    var destination = MacAddress.Parse(ns.IpOutput("-br", "link", "show", "b0").Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
    foreach (int size in sizes) Core(size, 0.5); // both frame sizes through the JIT's tiers before anything is timed
    foreach (int size in sizes)
    {
        double core = Core(size, seconds);
        double packet = await ns.Enter(() =>
        {
            using var vs = new VirtualSwitch("bench", SwitchType.Private);
            var settings = new PortSettings { MacAddressSpoofing = true };
            vs.AddPort("a1", PacketSocketLink.Open("a1"), settings);
            vs.AddPort("b1", PacketSocketLink.Open("b1"), settings);
            return Through(size, seconds, destination);
        });
        ns.Ip("link", "add", "br0", "type", "bridge");
        ns.Ip("link", "set", "a1", "master", "br0");
        ns.Ip("link", "set", "b1", "master", "br0");
        ns.Ip("link", "set", "br0", "up");
        double bridge = await ns.Enter(() => Through(size, seconds, destination));
        ns.Ip("link", "del", "br0");
        results.Add((size, core, packet, bridge));
        Console.Error.WriteLine($"{size} bytes: core {core:N0}/s, packet sockets {packet:N0}/s, Linux bridge {bridge:N0}/s");
    }
}
Console.WriteLine("| frame | our switch, in-process ports | our switch, veth↔veth via packet sockets | Linux bridge, veth↔veth | ratio (packet sockets / bridge) | ratio (in-process / bridge) |");
Console.WriteLine("|---|---|---|---|---|---|");
foreach (var r in results)
    Console.WriteLine($"| {r.Size} B | {r.Core / 1e6:F2} M/s | {r.Packet / 1e6:F3} M/s | {r.Bridge / 1e6:F3} M/s | {r.Packet / r.Bridge:F2} | {r.Core / r.Bridge:F1} |");
return 0;

static byte[] Frame(int size, MacAddress destination)
{
    var f = new byte[size];
    destination.Write(f);
    new MacAddress(0x0A4853_FFFF01).Write(f.AsSpan(6));
    BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x88B5); // local experimental EtherType
    return f;
}

// Our switch alone: one thread hands frames to port a, port b's link counts them.
static double Core(int size, double seconds)
{
    using var vs = new VirtualSwitch("core", SwitchType.Private);
    var counter = new Counter();
    var (aSwitch, aAdapter) = InProcessLink.CreatePair("a");
    var (bSwitch, bAdapter) = InProcessLink.CreatePair("b");
    vs.AddPort("a", aSwitch, new PortSettings());
    vs.AddPort("b", bSwitch, new PortSettings());
    bAdapter.Start(counter);
    var destination = new MacAddress(0x0A4853_FFFF02);
    bAdapter.Send(Frame(64, new MacAddress(0x0A4853_FFFF01)) is var learn ? Swap(learn) : learn); // b's address is learned
    var frame = Frame(size, destination);
    for (int i = 0; i < 200_000; i++) aAdapter.Send(frame); // JIT warm-up
    long before = counter.Count;
    var sw = Stopwatch.StartNew();
    while (sw.Elapsed.TotalSeconds < seconds)
        for (int i = 0; i < 10_000; i++) aAdapter.Send(frame);
    return (counter.Count - before) / sw.Elapsed.TotalSeconds;

    static byte[] Swap(byte[] f) { new MacAddress(0x0A4853_FFFF02).Write(f.AsSpan(6)); new MacAddress(0x0A4853_FFFF01).Write(f); return f; }
}

// Whatever joins a1 and b1 (our switch or the bridge): frames written into a0, counted out of b0.
static double Through(int size, double seconds, MacAddress destination)
{
    var counter = new Counter();
    using var sender = PacketSocketLink.Open("a0");
    using var receiver = PacketSocketLink.Open("b0");
    receiver.Start(counter);
    sender.Start(new Counter());
    var frame = Frame(size, destination);
    var sw = Stopwatch.StartNew();
    while (sw.Elapsed.TotalSeconds < seconds * 0.2) if (!sender.Send(frame)) Thread.Yield(); // warm-up
    long before = counter.Count;
    sw.Restart();
    while (sw.Elapsed.TotalSeconds < seconds)
        if (!sender.Send(frame)) Thread.Yield();
    double rate = (counter.Count - before) / sw.Elapsed.TotalSeconds;
    return rate;
}

sealed class Counter : IFrameReceiver
{
    private long _count;
    public long Count => Interlocked.Read(ref _count);
    public void Receive(ReadOnlySpan<byte> frame) { if (frame.Length >= 14 && frame[12] == 0x88 && frame[13] == 0xB5) Interlocked.Increment(ref _count); }
}
