using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Pci;

/// <summary>
/// The stock Debian kernel (built-in acpiphp, no extra modules) on the Emulated backend: after boot the host hot-adds a
/// VHDX holding known data with a slot label; the guest finds the new /dev/vdb, hashes its data and reads the slot's
/// label from sysfs; the host renames the label and the guest reads the new one; the host removes the disk, the guest's
/// acpiphp ejects it, the removal completes and the image is closed.
/// </summary>
public class LinuxPciHotplugTests(ITestOutputHelper output)
{
    private const string GuestScript = """
        echo "TEST-COLD-LABEL $(cat "$(dirname "$(readlink -f /sys/block/vda/device)")/label")"
        echo TEST-HOTPLUG-READY
        i=0; while [ ! -e /sys/block/vdb ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
        if [ -e /sys/block/vdb ]; then
          echo TEST-VDB-APPEARED
          pci=$(dirname "$(readlink -f /sys/block/vdb/device)")
          echo "TEST-PCI $(basename "$pci")"
          echo "TEST-HASH $(head -c 1048576 /dev/vdb | sha256sum | cut -d' ' -f1)"
          old=$(cat "$pci/label")
          echo "TEST-LABEL1 $old"
          i=0; while [ "$(cat "$pci/label")" = "$old" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
          echo "TEST-LABEL2 $(cat "$pci/label")"
          echo "TEST-INDEX $(cat "$pci/acpi_index")"
          i=0; while [ -e /sys/block/vdb ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
          [ -e /sys/block/vdb ] || echo TEST-VDB-GONE
          i=0; while [ -e "$pci" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
          [ -e "$pci" ] || echo TEST-PCI-GONE
        else
          echo TEST-NO-VDB
        fi
        """;

    [Fact]
    public async Task DebianSeesAHotAddedLabelledDiskItsRenameAndItsRemoval()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-hotplug").FullName;
        try
        {
            string initrd = GuestOverlay.Build(kit, dir, new Dictionary<string, string> { ["50-hotplug.sh"] = GuestScript });
            var data = new byte[1 << 20];
            new Random(7).NextBytes(data);
            string raw = Path.Combine(dir, "data.raw"), vhdx = Path.Combine(dir, "data.vhdx");
            using (var f = File.Create(raw)) { f.Write(data); f.SetLength(4 << 20); }
            DiskConvert.Convert(raw, vhdx, new ConvertOptions { Format = DiskFormat.Vhdx, Type = DiskType.Dynamic });
            string expectedHash = Convert.ToHexStringLower(SHA256.HashData(data));
            string boot = Path.Combine(dir, "boot.vhdx");
            HyperSharp.Vhdx.VirtualDisk.Create(boot, new DiskCreateOptions { Capacity = 1 << 20 }).Dispose();

            var console = new StringBuilder();
            using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
            {
                KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = 256UL << 20, CommandLine = "console=ttyS0",
                Disks = [new DiskAttachment(boot) { Label = "Boot Disk" }],
                ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
            }).Build();
            var run = Task.Run(vm.Run);
            try
            {
                Assert.True(await WaitFor(console, "TEST-HOTPLUG-READY", 240, run), "the guest never got to its hotplug script");
                var added = Stopwatch.StartNew();
                int slot = vm.Hotplug.AddDisk(vhdx, label: "Data Disk 1");
                Assert.True(await WaitFor(console, "TEST-VDB-APPEARED", 60, run), "the guest never saw the hot-added disk");
                output.WriteLine($"hot-add: {added.Elapsed.TotalSeconds:F2} s from AddDisk to the guest's /sys/block/vdb (slot {slot}, Emulated backend)");
                Assert.Equal(2, vm.Disks.Count);
                Assert.Equal(["Boot Disk", "Data Disk 1"], vm.DiskAttachments.Select(d => d.Label));

                Assert.True(await WaitFor(console, "TEST-LABEL1", 60, run), "the guest did not read the label");
                vm.Hotplug.SetSlotLabel(slot, "Renamed Disk 2");
                Assert.True(await WaitFor(console, "TEST-INDEX", 60, run), "the guest did not see the rename");

                var removed = Stopwatch.StartNew();
                await vm.Hotplug.RemoveDiskAsync(slot, TimeSpan.FromSeconds(60));
                output.WriteLine($"hot-remove: {removed.Elapsed.TotalSeconds:F2} s from RemoveDiskAsync to the guest's eject and the image closed");
                Assert.Equal(boot, vm.Disks.Single().Path);
                using (File.Open(vhdx, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { } // closed by the VM
                Assert.True(await WaitFor(console, "TEST-VDB-GONE", 60, run), "the guest still has vdb");
            }
            finally
            {
                if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) != run) vm.Stop();
                await run;
                string text;
                lock (console) text = console.ToString();
                output.WriteLine(text);
            }
            string log;
            lock (console) log = console.ToString();
            Assert.Contains($"TEST-PCI 0000:00:{Regex.Match(log, @"TEST-PCI 0000:00:([0-9a-f]{2})").Groups[1].Value}", log);
            Assert.Contains($"TEST-HASH {expectedHash}", log);
            Assert.Contains("TEST-COLD-LABEL Boot Disk", log);
            Assert.Contains("TEST-LABEL1 Data Disk 1", log);
            Assert.Contains("TEST-LABEL2 Renamed Disk 2", log);
            Assert.Contains("TEST-PCI-GONE", log);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Polls the console for a marker (the guest prints one per step) until it shows, the VM stops, or the time is up.</summary>
    internal static async Task<bool> WaitFor(StringBuilder console, string marker, int seconds, Task run)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed.TotalSeconds < seconds)
        {
            lock (console) if (console.ToString().Contains(marker)) return true;
            if (run.IsCompleted) return false;
            await Task.Delay(20);
        }
        return false;
    }
}
