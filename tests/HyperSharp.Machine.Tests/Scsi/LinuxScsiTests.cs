using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Scsi;

/// <summary>
/// The stock Debian kernel's virtio_scsi and sd on our SCSI controllers, Emulated backend, one booted guest for the whole
/// story: 192 disks cold-plugged on controllers 0-2 (small dynamic VHDX files, each holding its own name) and listed by
/// the guest with their controller (the PCI slot label of their SCSI host) and location (the LUN of H:0:0:L); 64 disks
/// hot-added to controller 3 (256 in all) and hot-removed again; then a 64 TB dynamic VHDX whose last sector the guest
/// writes and reads back (and the host finds in the image), a disk grown while attached, seen at its new size and its
/// mounted ext4 grown into it with resize2fs, a read-only disk that refuses writes, and a discard that releases the
/// VHDX's blocks.
/// </summary>
public class LinuxScsiTests(ITestOutputHelper output)
{
    private const string Script = """
        count() { ls /sys/class/scsi_disk 2>/dev/null | wc -l; }
        waitn() { i=0; while [ "$(count)" != "$1" ] && [ $i -lt 6000 ]; do sleep 0.1; i=$((i+1)); done; echo "TEST-COUNT $(count)"; }
        luns() { for d in /sys/class/scsi_disk/*; do b=$(ls $d/device/block); echo "TEST-LUN ${d##*/} $b $(head -c 6 /dev/$b)"; done; }
        dev() { ls /sys/class/scsi_disk/$h3:0:0:$1/device/block; }
        waitn 192
        for h in /sys/class/scsi_host/host*; do p=$(readlink -f $h); echo "TEST-HOST ${h##*/host} $(cat ${p%/virtio*}/label)"; done
        h3=$(for h in /sys/class/scsi_host/host*; do p=$(readlink -f $h); [ "$(cat ${p%/virtio*}/label)" = "SCSI 3" ] && echo ${h##*/host}; done)
        luns
        echo TEST-HOTADD-NOW
        waitn 256
        luns
        echo TEST-REMOVE-NOW
        waitn 192
        echo TEST-SPECIAL-NOW
        waitn 196
        big=$(dev 0); sectors=$(cat /sys/block/$big/size); echo "TEST-BIG-SECTORS $sectors"
        (printf 'HS-LAST-SECTOR-64TB'; head -c 493 /dev/zero) > /tmp/last
        dd if=/tmp/last of=/dev/$big bs=512 seek=$((sectors-1)) count=1 conv=fsync 2>/dev/null && echo TEST-BIG-WROTE
        echo 3 > /proc/sys/vm/drop_caches
        echo "TEST-BIG-READ $(dd if=/dev/$big bs=512 skip=$((sectors-1)) count=1 2>/dev/null | head -c 19)"
        grow=$(dev 1); mkdir -p /mnt/grow
        mount -t ext4 /dev/$grow /mnt/grow && echo "TEST-FS-OLD $(df -k /mnt/grow | tail -1 | awk '{print $2}')"
        echo "TEST-GROW-OLD $(cat /sys/block/$grow/size)"
        i=0; while [ "$(cat /sys/block/$grow/size)" = 131072 ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done
        echo "TEST-GROW-NEW $(cat /sys/block/$grow/size)"
        /sbin/resize2fs /dev/$grow > /tmp/resize.log 2>&1 || cat /tmp/resize.log
        echo "TEST-FS-NEW $(df -k /mnt/grow | tail -1 | awk '{print $2}')"
        umount /mnt/grow
        ro=$(dev 2); echo "TEST-RO-FLAG $(cat /sys/block/$ro/ro)"
        if dd if=/dev/zero of=/dev/$ro bs=512 count=1 conv=fsync 2>/dev/null; then echo TEST-RO-WROTE; else echo TEST-RO-REFUSED; fi
        trim=$(dev 3); echo "TEST-TRIM-MODE $(cat /sys/class/scsi_disk/$h3:0:0:3/provisioning_mode) $(cat /sys/block/$trim/queue/discard_max_bytes)"
        blkdiscard /dev/$trim && echo TEST-TRIM-DONE
        """;

    [Fact]
    public async Task DebianSees256ScsiDisksHotplugsLunsAndUsesA64TerabyteDiskGrowthReadOnlyAndDiscard()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        if (!File.Exists("/usr/sbin/mkfs.ext4")) { output.WriteLine("skipped: e2fsprogs (mkfs.ext4) is not installed"); return; }
        string dir = Directory.CreateTempSubdirectory("hs-scsi").FullName;
        try
        {
            string initrd = GuestOverlay.Build(kit, dir, new Dictionary<string, string> { ["50-scsi.sh"] = Script });
            string Disk(int c, int l)
            {
                string path = Path.Combine(dir, $"c{c}l{l:D2}.vhdx");
                using var d = VirtualDisk.Create(path, new DiskCreateOptions { Capacity = 4 << 20, BlockSize = 1 << 20 });
                d.Write(0, Encoding.ASCII.GetBytes($"C{c}L{l:D2}"));
                return path;
            }
            var controllers = Enumerable.Range(0, 4).Select(c => new ScsiControllerAttachment
            {
                Label = $"SCSI {c}",
                Disks = c < 3 ? [.. Enumerable.Range(0, 64).Select(l => new ScsiDiskAttachment(Disk(c, l), l))] : [],
            }).ToList();
            var hot = Enumerable.Range(0, 64).Select(l => new ScsiDiskAttachment(Disk(3, l), l)).ToList();
            string big = Path.Combine(dir, "big.vhdx"), grow = Path.Combine(dir, "grow.vhdx"), ro = Path.Combine(dir, "ro.vhdx"), trim = Path.Combine(dir, "trim.vhdx");
            VirtualDisk.Create(big, new DiskCreateOptions { Capacity = 64L << 40 }).Dispose();
            string growRaw = Path.Combine(dir, "grow.raw");
            using (var f = File.Create(growRaw)) f.SetLength(64 << 20);
            GuestOverlay.Run("/usr/sbin/mkfs.ext4", "-q", "-F", growRaw);
            HyperSharp.Vhdx.Operations.DiskConvert.Convert(growRaw, grow, new HyperSharp.Vhdx.Operations.ConvertOptions { Format = DiskFormat.Vhdx, Type = DiskType.Dynamic });
            using (var d = VirtualDisk.Create(ro, new DiskCreateOptions { Capacity = 4 << 20, BlockSize = 1 << 20 })) d.Write(0, "read-only"u8);
            using (var d = VirtualDisk.Create(trim, new DiskCreateOptions { Capacity = 16 << 20, BlockSize = 1 << 20 }))
                d.Write(0, Enumerable.Repeat((byte)0x5A, 4 << 20).ToArray());

            var console = new GuestConsole();
            using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
            {
                KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = 768UL << 20, CommandLine = "console=ttyS0",
                ScsiControllers = controllers, ConsoleOutput = console.Append, Log = output.WriteLine,
            }).Build();
            var clock = Stopwatch.StartNew();
            var run = Task.Run(vm.Run);
            var patient = TimeSpan.FromSeconds(780);
            try
            {
                await console.WaitFor("TEST-HOTADD-NOW", patient, run);
                output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: boot and scan of 192 LUNs, listed");
                var added = Stopwatch.StartNew();
                foreach (var disk in hot) vm.Scsi.Attach(3, disk);
                await console.WaitFor("TEST-REMOVE-NOW", patient, run);
                output.WriteLine($"hot-add of 64 LUNs: {added.Elapsed.TotalSeconds:F1} s until the guest listed all 256");
                var removed = Stopwatch.StartNew();
                await Task.WhenAll(hot.Select(d => vm.Scsi.DetachAsync(3, d.Location)));
                foreach (var d in hot) using (File.Open(d.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { } // closed by the VM
                await console.WaitFor("TEST-SPECIAL-NOW", patient, run);
                output.WriteLine($"hot-remove of 64 LUNs: {removed.Elapsed.TotalSeconds:F1} s until the guest had 192 again");
                vm.Scsi.Attach(3, new ScsiDiskAttachment(big, 0));
                vm.Scsi.Attach(3, new ScsiDiskAttachment(grow, 1));
                vm.Scsi.Attach(3, new ScsiDiskAttachment(ro, 2, ReadOnly: true));
                vm.Scsi.Attach(3, new ScsiDiskAttachment(trim, 3));
                await console.WaitFor("TEST-GROW-OLD", patient, run);
                vm.Scsi.DiskAt(3, 1)!.Resize(96 << 20); // Resize-VHD on the running VM
                await console.WaitFor("TEST-TRIM-DONE", patient, run);
                var last = new byte[19];
                vm.Scsi.DiskAt(3, 0)!.Read((64L << 40) - 512, last);
                Assert.Equal("HS-LAST-SECTOR-64TB", Encoding.ASCII.GetString(last));
                Assert.Equal(ExtentState.Zero, vm.Scsi.DiskAt(3, 3)!.GetExtent(0).State); // the guest's discard released the written blocks
                Assert.True(vm.Scsi.DiskAt(3, 3)!.GetExtent(0).Length >= 4 << 20);
            }
            finally
            {
                if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(120))) != run) vm.Stop();
                await run;
                output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s in all");
            }
            string log = console.Text;
            output.WriteLine(string.Join('\n', log.Split('\n').Where(l => l.StartsWith("TEST-") && !l.StartsWith("TEST-LUN"))));
            var hosts = Regex.Matches(log, @"TEST-HOST (\d+) SCSI (\d)").ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value));
            Assert.Equal([0, 1, 2, 3], hosts.Values.Order());
            var luns = Regex.Matches(log, @"TEST-LUN (\d+):0:0:(\d+) sd[a-z]+ (C\dL\d\d)").Select(m => (Controller: hosts[m.Groups[1].Value], Lun: int.Parse(m.Groups[2].Value), Tag: m.Groups[3].Value)).ToList();
            var expected = Enumerable.Range(0, 4).SelectMany(c => Enumerable.Range(0, 64).Select(l => (c, l))).ToHashSet();
            Assert.Equal(192 + 256, luns.Count);                                      // listed once at 192, once at 256
            Assert.All(luns, x => Assert.Equal($"C{x.Controller}L{x.Lun:D2}", x.Tag)); // each location holds the disk put there
            Assert.Equal(expected, luns.Select(x => (x.Controller, x.Lun)).ToHashSet());
            Assert.Contains("TEST-COUNT 256", log);
            Assert.Contains($"TEST-BIG-SECTORS {(64L << 40) / 512}", log);
            Assert.Contains("TEST-BIG-READ HS-LAST-SECTOR-64TB", log);
            Assert.Contains("TEST-GROW-OLD 131072", log);
            Assert.Contains("TEST-GROW-NEW 196608", log);
            long fsOld = long.Parse(Regex.Match(log, @"TEST-FS-OLD (\d+)").Groups[1].Value), fsNew = long.Parse(Regex.Match(log, @"TEST-FS-NEW (\d+)").Groups[1].Value);
            Assert.True(fsNew > fsOld + 30_000, $"the guest's ext4 grew from {fsOld} KiB to {fsNew} KiB with resize2fs"); // 64 -> 96 MiB
            Assert.Contains("TEST-RO-FLAG 1", log);
            Assert.Contains("TEST-RO-REFUSED", log);
            Assert.Contains("TEST-TRIM-MODE unmap", log);
            using var roBack = VirtualDisk.Open(ro, DiskOpenOptions.ReadOnlyDefault);
            var head = new byte[9];
            roBack.Read(0, head);
            Assert.Equal("read-only", Encoding.ASCII.GetString(head));
        }
        finally { Directory.Delete(dir, true); }
    }
}
