using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Issue 19's disk scale through the host, on a Debian guest (Emulated backend): 4 SCSI controllers, 192 small dynamic
/// VHDX drives added while the VM is off and 64 more hot-added while it runs — the guest lists all 256 by controller
/// (its SCSI host) and location (LUN), each holding its own name — the 64 removed again, and a 64 TB dynamic disk
/// hot-added whose last sector the guest writes and reads back.
/// </summary>
public class ScsiScaleGuestTests(ITestOutputHelper output)
{
    // Sourced by the kit's /init; each `read` waits for a line from the host (the console's stdin).
    private const string GuestScript = """
        dmesg -n 1
        n() { ls /sys/class/scsi_disk | wc -l; }
        waitn() { i=0; while [ "$(n)" != "$1" ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done; echo "TEST-COUNT $(n)"; }
        waitn 192; echo TEST-COLD
        read -r step; waitn 256
        for d in /sys/class/scsi_disk/*; do b=$(ls $d/device/block); echo "TEST-LUN ${d##*/} $(head -c 6 /dev/$b)"; done
        echo TEST-LISTED
        read -r step; waitn 192; echo TEST-REMOVED
        read -r step; waitn 193
        for b in /sys/block/sd*; do [ "$(cat $b/size)" -gt 1000000000 ] && big=${b##*/}; done
        sectors=$(cat /sys/block/$big/size); echo "TEST-BIG-SECTORS $sectors"
        (printf 'HS-LAST-SECTOR-64TB'; head -c 493 /dev/zero) > /tmp/last
        dd if=/tmp/last of=/dev/$big bs=512 seek=$((sectors-1)) count=1 conv=fsync 2>/dev/null && echo TEST-BIG-WROTE
        echo 3 > /proc/sys/vm/drop_caches
        echo "TEST-BIG-READ $(dd if=/dev/$big bs=512 skip=$((sectors-1)) count=1 2>/dev/null | head -c 19)"
        """;

    [Fact]
    public async Task A_guest_lists_256_drives_on_4_controllers_hot_adds_and_removes_64_and_uses_a_64_terabyte_disk()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        await using var host = await HostFixture.StartAsync(output);
        var client = host.Client;
        string initrd = GuestOverlay.Build(kit, host.Root, new Dictionary<string, string> { ["50-scale.sh"] = GuestScript });
        string Disk(int c, int l)
        {
            string path = Path.Combine(host.Root, $"c{c}l{l:D2}.vhdx");
            using var d = VirtualDisk.Create(path, new DiskCreateOptions { Capacity = 4 << 20, BlockSize = 1 << 20 });
            d.Write(0, Encoding.ASCII.GetBytes($"C{c}L{l:D2}"));
            return path;
        }
        var vm = new VmRef { Name = "scale" };
        await client.CreateVmAsync(new CreateVmRequest
        {
            Name = "scale", MemoryStartupBytes = 768L << 20, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        for (int c = 1; c < 4; c++) await client.ScsiControllers.AddScsiControllerAsync(vm);
        for (int c = 0; c < 3; c++)
            for (int l = 0; l < 64; l++)
                await client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = vm, Path = Disk(c, l), ControllerNumber = c, ControllerLocation = l });

        var clock = Stopwatch.StartNew();
        await client.StartVmAsync(vm);
        var patience = TimeSpan.FromSeconds(600);
        string console = await host.ReadConsoleAsync("scale", t => t.Contains("TEST-COLD"), patience);
        Assert.Matches(@"TEST-COUNT 192\s+TEST-COLD", console);
        var booted = clock.Elapsed;

        clock.Restart();
        for (int l = 0; l < 64; l++)
            await client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = vm, Path = Disk(3, l), ControllerNumber = 3, ControllerLocation = l });
        var added = clock.Elapsed;
        console = await host.ReadConsoleAsync("scale", t => t.Contains("TEST-LISTED"), patience, "go\n"u8.ToArray());
        var listed = clock.Elapsed;
        Assert.Matches(@"TEST-COUNT 256\s+TEST-LUN", console);
        // Each LUN H:0:0:L holds the disk put at location L of one controller, and each SCSI host is one controller.
        var luns = Regex.Matches(console, @"TEST-LUN (\d+):0:0:(\d+) C(\d)L(\d\d)").Select(m => (Host: m.Groups[1].Value, Lun: int.Parse(m.Groups[2].Value),
            Controller: int.Parse(m.Groups[3].Value), Location: int.Parse(m.Groups[4].Value))).Distinct().ToList();
        Assert.Equal(256, luns.Count);
        Assert.All(luns, x => Assert.Equal(x.Location, x.Lun));
        Assert.Equal(4, luns.GroupBy(x => x.Host).Count(g => g.Select(x => x.Controller).Distinct().Count() == 1 && g.Count() == 64));
        Assert.Equal(256, (await client.ListHardDiskDrivesAsync(vm)).Drives.Count);

        clock.Restart();
        for (int l = 0; l < 64; l++)
            await client.RemoveHardDiskDriveAsync(new RemoveHardDiskDriveRequest { Vm = vm, ControllerType = ControllerType.Scsi, ControllerNumber = 3, ControllerLocation = l });
        console = await host.ReadConsoleAsync("scale", t => t.Contains("TEST-REMOVED"), patience, "go\n"u8.ToArray());
        var removed = clock.Elapsed;
        Assert.Matches(@"TEST-COUNT 192\s+TEST-REMOVED", console);

        string big = Path.Combine(host.Root, "big.vhdx");
        VirtualDisk.Create(big, new DiskCreateOptions { Capacity = 64L << 40 }).Dispose();
        await client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = vm, Path = big, ControllerNumber = 3, ControllerLocation = 0 });
        console = await host.ReadConsoleAsync("scale", t => Regex.IsMatch(t, @"TEST-BIG-READ .*\n"), patience, "go\n"u8.ToArray());
        Assert.Contains($"TEST-BIG-SECTORS {(64L << 40) / 512}", console);
        Assert.Contains("TEST-BIG-WROTE", console);
        Assert.Contains("TEST-BIG-READ HS-LAST-SECTOR-64TB", console);
        output.WriteLine($"192 cold drives seen {booted.TotalSeconds:F0} s after the start; 64 hot-added through the API in {added.TotalSeconds:F1} s and listed " +
            $"(256) {listed.TotalSeconds:F0} s after the first; 64 removed and gone in {removed.TotalSeconds:F0} s");
        await client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        using var closed = VirtualDisk.Open(big, DiskOpenOptions.ReadOnlyDefault);
        var last = new byte[19];
        closed.Read((64L << 40) - 512, last);
        Assert.Equal("HS-LAST-SECTOR-64TB", Encoding.ASCII.GetString(last));
    }
}
