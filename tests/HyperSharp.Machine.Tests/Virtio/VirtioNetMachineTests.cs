using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Machine.Virtio.Net;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Machine.Tests.Virtio;

/// <summary>virtio-net in a whole machine (saved state, reconnect on restore) and against hostile guests (random requests never escape as host faults).</summary>
public class VirtioNetMachineTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AdapterIsSavedWithTheVm_AndRestoredOntoItsSwitchPort()
    {
        string dir = Directory.CreateTempSubdirectory("hs-netsave").FullName;
        try
        {
            string kernel = Path.Combine(dir, "spin.elf");
            File.WriteAllBytes(kernel, TinyElf.Assemble(a => { var top = a.CreateLabel(); a.Label(ref top); a.pause(); a.jmp(top); }));
            var mac = MacAddress.Parse("0A-48-53-00-00-33");
            var config = new VmConfig
            {
                KernelPath = kernel, MemorySize = 64 << 20, Log = output.WriteLine,
                NetworkAdapters = [new NetworkAdapterAttachment("eth0", mac, "lab", () => InProcessLink.CreatePair().A)],
            };
            string state = Path.Combine(dir, "vm.state");
            using (var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), config).Build())
            {
                Assert.True(vm.NetworkAdapters.Single().LinkUp);
                var run = Task.Run(vm.Run);
                await Task.Delay(100);
                vm.Pause();
                vm.Save(state, SavedVmConfig.From(config), "emulated");
                vm.Stop();
                await run;
            }
            using (var file = VmStateFile.Open(state))
            {
                Assert.Equal([new SavedNetworkAdapter("eth0", "0A-48-53-00-00-33", "lab")], file.State.Config.NetworkAdapters!);
                Assert.True(file.State.DevicesById().ContainsKey("net/eth0"));
            }

            var reconnected = new List<string>();
            using var back = VirtualMachineBuilder.Restore(new EmulatedHypervisor(), state, _ => { }, output.WriteLine,
                n => () => { reconnected.Add($"{n.Name}@{n.SwitchName}"); return InProcessLink.CreatePair().A; });
            Assert.Equal(["eth0@lab"], reconnected);
            Assert.Equal(mac, back.NetworkAdapters.Single().Mac);
            Assert.True(back.NetworkAdapters.Single().LinkUp);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void RandomRequestsFromAHostileGuest_AreDroppedOrRefused_NeverAHostFault()
    {
        var random = new Random(20261127);
        var first = new TestDriver(64);
        var queues = new[] { first, new TestDriver(64, first, 1), new TestDriver(64, first, 2) };
        using var _ = first;
        var net = new VirtioNetDevice("eth0", MacAddress.Parse("0A-48-53-00-00-01"), first.Ram);
        var (device, wire) = InProcessLink.CreatePair();
        net.Connect(device);
        var sink = new Sink();
        wire.Start(sink);
        for (int round = 0; round < 300; round++)
        {
            net.Activate(1UL << 32 | 1 | 2 | 1UL << 15 | 1UL << 17, queues.Select(q => q.Queue()).ToList(), new NoInterrupts());
            for (int i = 0; i < 8; i++)
            {
                var q = queues[random.Next(3)];
                ulong at = TestDriver.Data + (ulong)random.Next(0, 0x80000);
                var bytes = new byte[random.Next(0, 128)];
                random.NextBytes(bytes);
                q.Ram.Write(at, bytes);
                var chain = Enumerable.Range(0, random.Next(1, 4)).Select(_ => (at + (ulong)random.Next(0, 64), (uint)random.Next(0, 20000), random.Next(4) == 0)).ToArray();
                if (random.Next(20) == 0) chain[0].Item1 = ulong.MaxValue - 10; // outside RAM
                q.Post(chain);
                try { net.ProcessQueue(Array.IndexOf(queues, q)); }
                catch (VirtqueueException) { } // the transport marks the device broken; the host is fine
                var frame = new byte[random.Next(0, 9100)];
                random.NextBytes(frame);
                wire.Send(frame);
            }
            net.Reset();
            queues = [new TestDriver(64, first, 3 + round % 40), new TestDriver(64, first, 1 + (round + 7) % 40 + 3), new TestDriver(64, first, 2)];
        }
        output.WriteLine($"{net.Counters.SentFrames} sent, {net.Counters.TransmitErrors} refused, {net.Counters.ReceivedFrames} received, {net.Counters.ReceiveDrops} dropped");
        Assert.True(net.Counters.TransmitErrors > 0);
    }

    private sealed class Sink : IFrameReceiver { public void Receive(ReadOnlySpan<byte> frame) { } }

    private sealed class NoInterrupts : HyperSharp.Machine.Virtio.IVirtioInterrupts
    {
        public void QueueInterrupt(int queue) { }
        public void ConfigChanged() { }
    }
}
