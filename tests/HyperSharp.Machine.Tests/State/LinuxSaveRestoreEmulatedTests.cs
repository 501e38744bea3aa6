using System.Text;
using System.Text.RegularExpressions;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine.State;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.State;

/// <summary>
/// The stock Debian kernel on the Emulated backend, saved while it ticks and restored in a fresh machine: its timers go
/// on (no tick lost or repeated) and its virtio-blk disk works after the restore (the data it writes then is on the VHDX).
/// </summary>
public partial class LinuxSaveRestoreEmulatedTests(ITestOutputHelper output)
{
    private const int Ticks = 30;

    private const string Script = """
        mkdir -p /mnt; mount -t ext4 /dev/vda /mnt || echo TEST-MOUNT-FAILED
        i=0; while [ $i -lt 30 ]; do echo "TEST-TICK $i"; sleep 0.2; i=$((i+1)); done
        dd if=/dev/urandom of=/mnt/after.bin bs=64k count=16 2>/dev/null; sync
        echo "TEST-SUM $(md5sum /mnt/after.bin | cut -c1-32)"
        umount /mnt; echo TEST-DONE
        """;

    [Fact]
    public async Task ASavedDebianGuestGoesOnAfterARestore()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        if (!File.Exists("/usr/sbin/mkfs.ext4") || !File.Exists("/usr/sbin/debugfs")) { output.WriteLine("skipped: e2fsprogs (mkfs.ext4, debugfs) is not installed"); return; }
        string dir = Directory.CreateTempSubdirectory("hs-linux-state").FullName;
        try
        {
            string initrd = GuestOverlay.Build(kit, dir, new Dictionary<string, string> { ["50-ticks.sh"] = Script });
            string raw = Path.Combine(dir, "fs.raw"), vhdx = Path.Combine(dir, "disk.vhdx"), state = Path.Combine(dir, "saved.state");
            using (var f = File.Create(raw)) f.SetLength(64 << 20);
            GuestOverlay.Run("/usr/sbin/mkfs.ext4", "-q", "-F", raw);
            DiskConvert.Convert(raw, vhdx, new ConvertOptions { Format = DiskFormat.Vhdx, Type = DiskType.Dynamic });

            var console = new StringBuilder();
            var config = new VmConfig
            {
                KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = 256UL << 20, Processors = 2,
                CommandLine = "console=ttyS0", Disks = [new DiskAttachment(vhdx)],
                ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
            };
            string before;
            using (var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), config).Build())
            {
                var run = Task.Run(vm.Run);
                bool ticking = await HyperSharp.Machine.Tests.Pci.LinuxPciHotplugTests.WaitFor(console, "TEST-TICK 5", 300, run);
                vm.Pause();
                lock (console) before = console.ToString();
                Assert.True(ticking, $"the guest never ticked; console:\n{before}");
                vm.Save(state, SavedVmConfig.From(config), "emulated");
                vm.Stop();
                await run;
            }
            output.WriteLine($"saved: {new FileInfo(state).Length >> 20} MiB");

            console.Clear();
            using (var vm = VirtualMachineBuilder.Restore(new EmulatedHypervisor(), state, b => { lock (console) console.Append((char)b); }, output.WriteLine))
            {
                var run = Task.Run(vm.Run);
                bool finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromMinutes(5))) == run;
                if (!finished) { vm.Stop(); await run; }
                string after;
                lock (console) after = console.ToString();
                output.WriteLine($"before the save:\n{before}\nafter the restore:\n{after}");
                Assert.True(finished, "the restored guest did not power off within 5 minutes");
                Assert.Equal(VmStopReason.PowerOff, (await run).Reason);
                var ticks = TickLine().Matches(before + after).Select(m => int.Parse(m.Groups[1].Value)).ToList();
                Assert.Equal(Enumerable.Range(0, Ticks), ticks);
                Assert.True(TickLine().Matches(after).Count > 0, "the save must fall among the ticks");
                Assert.Contains("TEST-DONE", after);
                string sum = Regex.Match(after, "TEST-SUM ([0-9a-f]{32})").Groups[1].Value;
                vm.Dispose();

                string back = Path.Combine(dir, "back.raw");
                DiskConvert.Convert(vhdx, back, new ConvertOptions { Format = DiskFormat.Raw });
                GuestOverlay.Run("/usr/sbin/debugfs", "-R", $"dump /after.bin {Path.Combine(dir, "after.bin")}", back);
                Assert.Equal(sum, Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(File.ReadAllBytes(Path.Combine(dir, "after.bin")))));
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [GeneratedRegex(@"TEST-TICK (\d+)\r?\n")]
    private static partial Regex TickLine();
}
