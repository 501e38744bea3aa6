using System.Buffers.Binary;
using HyperSharp.Machine.Migration;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Tests.State;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;
using HyperSharp.Networking.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Migration;

/// <summary>
/// After a migration the destination announces the VM's adapter through its new port: the adapter is connected to a TAP
/// device enslaved to a Linux bridge in a network namespace the test creates, and the bridge — a real peer switch — learns
/// the MAC on that port (its fdb), from RARP frames the test also reads off the bridge with a packet socket. The guest
/// (the counter) has no network driver: nothing but the announce sends from that MAC.
/// </summary>
public sealed class MacAnnounceTests(ITestOutputHelper output)
{
    private static readonly MacAddress Mac = MacAddress.Parse("0A-48-53-0F-00-15");

    /// <summary>Keeps every frame that arrives.</summary>
    private sealed class Recorder : IFrameReceiver
    {
        private readonly List<byte[]> _frames = [];
        public void Receive(ReadOnlySpan<byte> frame) { lock (_frames) _frames.Add(frame.ToArray()); }
        public List<byte[]> Frames { get { lock (_frames) return [.. _frames]; } }
    }

    private static string Fdb(NetworkNamespace ns) => GuestOverlay.Run("/usr/sbin/bridge", "-n", ns.Name, "fdb", "show", "br", "br0");

    [Fact]
    public async Task TheDestinationAnnouncesTheAdaptersMacAndTheBridgeLearnsItsNewPort()
    {
        var patience = TimeSpan.FromMinutes(3);
        var (ns, why) = NetworkNamespace.Create();
        if (ns is null) { output.WriteLine("skipped: " + why); return; }
        if (!File.Exists("/usr/sbin/bridge")) { output.WriteLine("skipped: iproute2's bridge is not installed"); ns.Dispose(); return; }
        string dir = Directory.CreateTempSubdirectory("hs-announce").FullName;
        using (ns)
        {
            ns.Ip("link", "add", "br0", "type", "bridge");
            ns.Ip("link", "set", "br0", "up");
            var tap = await ns.Enter(() => TapDevice.Create("hs-mig0"));
            ns.Ip("link", "set", "hs-mig0", "master", "br0");
            ns.Ip("link", "set", "hs-mig0", "up");
            var recorder = new Recorder();
            using var sniffer = await ns.Enter(() => PacketSocketLink.Open("br0"));
            sniffer.Start(recorder);
            string learned = Mac.ToString().Replace('-', ':').ToLowerInvariant() + " dev hs-mig0";

            // The source: the counter with one adapter, connected to a link that leads nowhere.
            string kernel = Path.Combine(dir, "counter.elf");
            File.WriteAllBytes(kernel, CounterGuest.Elf(100_000));
            var console = new GuestConsole();
            var config = new VmConfig
            {
                KernelPath = kernel, MemorySize = 16 << 20, ConsoleOutput = console.Append, Log = output.WriteLine,
                NetworkAdapters = [new NetworkAdapterAttachment("eth0", Mac, Connect: () => InProcessLink.CreatePair().A)],
            };
            var hypervisor = CounterGuest.Hypervisor("emulated");
            using var source = new VirtualMachineBuilder(hypervisor, config).Build();
            var sourceRun = Task.Run(source.Run);
            await console.WaitFor("00000040", patience, sourceRun);
            Assert.DoesNotContain(learned, Fdb(ns));

            // The destination's adapter goes on the TAP's link; the announce follows the start of its run.
            using var link = await LoopbackConnection.OpenAsync();
            var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(hypervisor, link.Destination, _ => { }, output.WriteLine, connectAdapter: _ => () => tap));
            await MigrationSource.SendAsync(source, SavedVmConfig.From(config), hypervisor.Name, link.Source);
            using var moved = await receiving;
            var run = Task.Run(moved.Run);
            await MacAnnounce.Start(moved, output.WriteLine);

            for (var deadline = DateTime.UtcNow + patience; !Fdb(ns).Contains(learned); await Task.Delay(10))
                Assert.True(DateTime.UtcNow < deadline, $"the bridge never learned {Mac} on hs-mig0: {Fdb(ns)}");
            output.WriteLine(Fdb(ns));
            var rarp = recorder.Frames.Where(f => f.Length >= 42 && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)) == 0x8035).ToList();
            Assert.NotEmpty(rarp);
            foreach (var f in rarp)
            {
                Assert.Equal(MacAddress.Broadcast, MacAddress.Read(f));
                Assert.Equal(Mac, MacAddress.Read(f.AsSpan(6)));          // the source address the bridge learns
                Assert.Equal(3, BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(20))); // a reverse request
                Assert.Equal(Mac, MacAddress.Read(f.AsSpan(22)));         // sender hardware address
                Assert.Equal(Mac, MacAddress.Read(f.AsSpan(32)));         // target hardware address
            }
            output.WriteLine($"{rarp.Count} RARP frames from {Mac} seen on br0");
            moved.Stop();
            await run;
        }
        Directory.Delete(dir, true);
    }
}
