using System.Diagnostics;
using System.Text.RegularExpressions;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Networking.Frames;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Pci;

/// <summary>
/// Hyper-V's 68 network adapters on the stock Debian kernel (Emulated backend), in the hotplug slots of bus 0 and of the
/// PCI-to-PCI bridges behind it (built-in acpiphp): 34 adapters cold-plugged and 34 hot-added while the guest runs, the
/// guest listing 68 virtio-net interfaces, each with its adapter's name as the PCI firmware label of its function —
/// also for the ones behind a bridge — and a 69th adapter refused with the limit in the message.
/// </summary>
public class LinuxManyAdaptersTests(ITestOutputHelper output)
{
    private const string Script = """
        count() { ls -d /sys/class/net/eth* 2>/dev/null | wc -l; }
        waitn() { i=0; while [ "$(count)" != "$1" ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done; echo "TEST-NICS $(count)"; }
        waitn 34
        echo TEST-HOTADD-NOW
        waitn 68
        for n in /sys/class/net/eth*; do p=$(readlink -f $n/device/..); echo "TEST-NIC ${n##*/} ${p##*/} $(cat $n/address) $(cat $p/label)"; done
        echo "TEST-PROBE-FAILURES $(dmesg | grep -c 'probe of virtio.* failed')"
        echo TEST-LISTED
        """;

    private static MacAddress Mac(int n) => MacAddress.Parse($"0A-48-53-68-00-{n:X2}");

    [Fact]
    public async Task DebianSees68LabelledAdaptersColdAndHotPluggedAcrossBridges()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-nics").FullName;
        try
        {
            string initrd = GuestOverlay.Build(kit, dir, new Dictionary<string, string> { ["50-nics.sh"] = Script });
            var console = new GuestConsole();
            using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
            {
                KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = 512UL << 20, CommandLine = "console=ttyS0",
                NetworkAdapters = [.. Enumerable.Range(1, 34).Select(n => new NetworkAdapterAttachment($"nic{n}", Mac(n)) { Label = $"Adapter {n:D2}" })],
                ConsoleOutput = console.Append, Log = output.WriteLine,
            }).Build();
            var clock = Stopwatch.StartNew();
            var run = Task.Run(vm.Run);
            var patient = TimeSpan.FromSeconds(780);
            var slots = new List<int>();
            try
            {
                await console.WaitFor("TEST-HOTADD-NOW", patient, run);
                output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: boot with 34 adapters");
                var added = Stopwatch.StartNew();
                for (int n = 35; n <= 68; n++) slots.Add(vm.Hotplug.AddNetworkAdapter(new NetworkAdapterAttachment($"nic{n}", Mac(n)) { Label = $"Adapter {n:D2}" }).Slot);
                var refused = Assert.Throws<InvalidOperationException>(() => vm.Hotplug.AddNetworkAdapter(new NetworkAdapterAttachment("nic69", Mac(69))));
                Assert.Contains("at most 68", refused.Message);
                await console.WaitFor("TEST-LISTED", patient, run);
                output.WriteLine($"hot-add of 34 adapters: {added.Elapsed.TotalSeconds:F1} s until the guest listed all 68");
            }
            finally
            {
                if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(120))) != run) vm.Stop();
                await run;
            }
            string log = console.Text;
            output.WriteLine(string.Join('\n', log.Split('\n').Where(l => l.StartsWith("TEST-"))));
            Assert.True(slots.Count(s => s >= 32) > 0, $"some hot-added adapters sit behind a bridge (slots {string.Join(", ", slots)})");
            var nics = Regex.Matches(log, @"TEST-NIC eth\d+ 0000:(\w\w):(\w\w)\.0 0a:48:53:68:00:(\w\w) Adapter (\d\d)")
                .Select(m => (Bus: Convert.ToInt32(m.Groups[1].Value, 16), Mac: Convert.ToInt32(m.Groups[3].Value, 16), Label: int.Parse(m.Groups[4].Value))).ToList();
            Assert.Contains("TEST-PROBE-FAILURES 0", log);                      // every adapter's driver got its interrupts
            Assert.Equal(68, nics.Count);
            Assert.All(nics, n => Assert.Equal(n.Mac, n.Label));                  // each interface carries its own adapter's name
            Assert.Equal(Enumerable.Range(1, 68), nics.Select(n => n.Label).Order());
            Assert.Contains(nics, n => n.Bus > 0);                               // behind the bridges, labels still read
        }
        finally { Directory.Delete(dir, true); }
    }
}
