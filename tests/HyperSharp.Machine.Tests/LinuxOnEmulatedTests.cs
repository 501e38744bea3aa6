using System.Diagnostics;
using System.Text;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests;

/// <summary>
/// The stock Debian kernel on the Emulated backend: boots to the kit's /init with 1 vCPU presenting AuthenticAMD and
/// with 2 presenting GenuineIntel, mounts an ext4 filesystem from a dynamic VHDX on virtio-blk, writes a file, syncs,
/// and powers off through ACPI; the test then finds the file, byte for byte, in the VHDX from the host side. With one
/// vCPU the VHDX is also grown while the guest runs, and the guest sees the new capacity. The kernel trusts the TSC as
/// one clock (no TSC_ADJUST fix-up, no warp between CPUs, clocksource tsc) and touches no MSR the CPU lacks.
/// </summary>
public class LinuxOnEmulatedTests(ITestOutputHelper output)
{
    private const string WriteScript = """
        mkdir -p /mnt
        if mount -t ext4 /dev/vda /mnt; then
          echo "hello from the guest, $(grep -c ^processor /proc/cpuinfo) cpus" > /mnt/hello.txt
          sync; umount /mnt; echo TEST-WROTE-FILE
          echo "TEST-RNG $(cat /sys/devices/virtual/misc/hw_random/rng_current)"
          echo "TEST-CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
          echo "TEST-VENDOR $(sed -n 's/^vendor_id[^:]*: //p' /proc/cpuinfo | sort -u | tr '\n' ' ')"
          head -c 16 /dev/hwrng | od -An -tx1 | tr -d ' \n' | sed 's/^/TEST-HWRNG /'; echo
        else
          echo TEST-MOUNT-FAILED
        fi
        """;

    private const string ResizeScript = """
        old=$(cat /sys/block/vda/size); echo "TEST-SIZE $old"
        i=0
        while [ $i -lt 600 ]; do new=$(cat /sys/block/vda/size); [ "$new" != "$old" ] && break; sleep 0.1; i=$((i+1)); done
        echo "TEST-NEWSIZE $new"
        """;

    [Theory]
    [InlineData(1, ProcessorVendor.Amd)]
    [InlineData(2, ProcessorVendor.Intel)]
    public async Task DebianBootsWritesAFileToAVhdxAndPowersOff(int cpus, ProcessorVendor vendor)
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        if (!File.Exists("/usr/sbin/mkfs.ext4") || !File.Exists("/usr/sbin/debugfs")) { output.WriteLine("skipped: e2fsprogs (mkfs.ext4, debugfs) is not installed"); return; }
        string dir = Directory.CreateTempSubdirectory("hs-linux").FullName;
        try
        {
            bool resize = cpus == 1;
            var scripts = new Dictionary<string, string> { ["50-write.sh"] = WriteScript };
            if (resize) scripts["60-resize.sh"] = ResizeScript;
            string initrd = GuestOverlay.Build(kit, dir, scripts);
            string raw = Path.Combine(dir, "fs.raw"), vhdx = Path.Combine(dir, "disk.vhdx");
            using (var f = File.Create(raw)) f.SetLength(64 << 20);
            GuestOverlay.Run("/usr/sbin/mkfs.ext4", "-q", "-F", raw);
            DiskConvert.Convert(raw, vhdx, new ConvertOptions { Format = DiskFormat.Vhdx, Type = DiskType.Dynamic });

            var console = new StringBuilder();
            using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
            {
                KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = 256UL << 20, Processors = cpus, ProcessorVendor = vendor,
                CommandLine = "console=ttyS0", Disks = [new DiskAttachment(vhdx)],
                ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
            }).Build();
            var sw = Stopwatch.StartNew();
            var run = Task.Run(vm.Run);
            if (resize)
            {
                Assert.True(SpinWait.SpinUntil(() => Contains(console, "TEST-SIZE") || run.IsCompleted, BootProgress.Overall) && Contains(console, "TEST-SIZE"), "the guest never reported its disk size");
                vm.Disks[0].Resize(128 << 20); // Resize-VHD on the running VM
            }
            bool finished = await BootProgress.WaitAsync(run, () => { lock (console) return console.Length; });
            if (!finished) { vm.Stop(); await run; }
            string log;
            lock (console) log = console.ToString();
            output.WriteLine($"{sw.Elapsed.TotalSeconds:F1} s on the Emulated backend, {cpus} vCPU(s), {vendor.VendorString()}:\n{log}");
            Assert.True(finished, $"the guest did not power off: {BootProgress.Describe}");
            Assert.Equal(VmStopReason.PowerOff, (await run).Reason);
            Assert.Contains($"HYPERSHARP-INIT-READY cpus={cpus}", log);
            Assert.Contains("Command line: console=ttyS0 no_timer_check", log);   // the platform's parameter reached the kernel
            Assert.Contains("TEST-WROTE-FILE", log);
            Assert.Contains("TEST-RNG virtio_rng", log);                          // the guest uses our entropy device
            Assert.Matches("TEST-HWRNG [0-9a-f]{32}", log);
            Assert.Contains($"TEST-VENDOR {vendor.VendorString()} ", log);
            // One clock: Linux neither fixes up TSC_ADJUST, nor measures a warp between CPUs, nor falls back to another clocksource.
            foreach (var symptom in new[] { "TSC ADJUST", "TSC warp", "Marking TSC unstable", "unchecked MSR access" })
                Assert.DoesNotContain(symptom, log);
            Assert.Contains("TEST-CLOCKSOURCE tsc\n", log.Replace("\r", ""));
            if (resize)
            {
                Assert.Contains("TEST-SIZE 131072", log);
                Assert.Contains("TEST-NEWSIZE 262144", log);
            }
            vm.Dispose();

            string back = Path.Combine(dir, "back.raw");
            DiskConvert.Convert(vhdx, back, new ConvertOptions { Format = DiskFormat.Raw });
            string file = GuestOverlay.Run("/usr/sbin/debugfs", "-R", "cat /hello.txt", back);
            Assert.Equal($"hello from the guest, {cpus} cpus\n", file);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static bool Contains(StringBuilder console, string text) { lock (console) return console.ToString().Contains(text); }
}
