using System.Text.RegularExpressions;
using Grpc.Core;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Resize-VHD of a disk a running Debian guest (Emulated backend) has mounted, through the host: the grow reaches the
/// guest at once (virtio-scsi's capacity-change event) and resize2fs grows its ext4 there; Get-VHD reports the live size;
/// a shrink below the guest's file system is refused naming the VM and how far it may go; once the guest shrank its file
/// system (unmounted), the disk shrinks and the guest sees that too and mounts it again.
/// </summary>
public class OnlineResizeGuestTests(ITestOutputHelper output)
{
    private const long MiB = 1 << 20;

    // Sourced by the kit's /init; each `read` waits for a line from the host (the console's stdin).
    private const string GuestScript = ScsiGuestShell.Functions + """
        d=$(scsi_disk 0); mkdir -p /mnt/data
        size() { cat /sys/block/$d/size; }
        waitsize() { i=0; while [ "$(size)" = "$1" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; }
        fs() { df -k /mnt/data | tail -1 | awk '{print $2}'; }
        mount -t ext4 /dev/$d /mnt/data && echo "TEST-MOUNTED $(size) $(fs)"
        read -r step
        waitsize 131072
        /sbin/resize2fs /dev/$d > /tmp/r.log 2>&1 || cat /tmp/r.log
        echo "TEST-GROWN $(size) $(fs)"
        read -r step
        umount /mnt/data && /sbin/resize2fs -f /dev/$d 48M > /tmp/r.log 2>&1 || cat /tmp/r.log
        sync; echo 3 > /proc/sys/vm/drop_caches; echo TEST-FS-SHRUNK
        read -r step
        waitsize 262144
        mount -t ext4 /dev/$d /mnt/data && echo "TEST-SHRUNK $(size) $(fs)"
        """;

    [Fact]
    public async Task A_mounted_disk_grows_online_and_shrinks_only_as_far_as_the_guest_let_go()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        if (!File.Exists("/usr/sbin/mkfs.ext4")) { output.WriteLine("skipped: e2fsprogs (mkfs.ext4) is not installed"); return; }
        await using var host = await HostFixture.StartAsync(output);
        string initrd = GuestOverlay.Build(kit, host.Root, new Dictionary<string, string> { ["50-resize.sh"] = GuestScript });
        string raw = Path.Combine(host.Root, "data.raw"), data = Path.Combine(host.Root, "data.vhdx");
        using (var f = File.Create(raw)) f.SetLength(64 * MiB);
        GuestOverlay.Run("/usr/sbin/mkfs.ext4", "-q", "-F", raw);
        DiskConvert.Convert(raw, data, new ConvertOptions { Format = DiskFormat.Vhdx, Type = DiskType.Dynamic });
        File.Delete(raw);
        var vm = new VmRef { Name = "resize" };
        await host.Client.CreateVmAsync(new CreateVmRequest
        {
            Name = "resize", MemoryStartupBytes = 256L << 20, Backend = "emulated", VhdPath = data,
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        using var channel = HostEndpoint.Connect(host.SocketPath);
        var vhd = new VhdService.VhdServiceClient(channel);
        await host.Client.StartVmAsync(vm);
        string console = await host.ReadConsoleAsync("resize", t => t.Contains("TEST-MOUNTED"), TimeSpan.FromSeconds(600));
        var mounted = Regex.Match(console, @"TEST-MOUNTED (\d+) (\d+)");
        Assert.True(mounted.Success, console);
        Assert.Equal("131072", mounted.Groups[1].Value);

        var grown = await vhd.ResizeVhdAsync(new ResizeVhdRequest { Path = data, SizeBytes = 128 * MiB });
        Assert.Equal(128 * MiB, grown.Size);
        Assert.Equal(128 * MiB, (await vhd.GetVhdAsync(new GetVhdRequest { Path = data })).Size); // the live size, from the worker that holds the file
        console = await host.ReadConsoleAsync("resize", t => Regex.IsMatch(t, @"TEST-GROWN \d+ \d+\s"), TimeSpan.FromSeconds(300), "go\n"u8.ToArray());
        var after = Regex.Match(console, @"TEST-GROWN (\d+) (\d+)");
        output.WriteLine($"guest: {mounted.Groups[1].Value} -> {after.Groups[1].Value} sectors, ext4 {mounted.Groups[2].Value} -> {after.Groups[2].Value} KiB");
        Assert.Equal("262144", after.Groups[1].Value);
        Assert.True(long.Parse(after.Groups[2].Value) > long.Parse(mounted.Groups[2].Value) + 50_000, "resize2fs in the guest grew its ext4 into the new space");

        var refused = await Assert.ThrowsAsync<RpcException>(() => vhd.ResizeVhdAsync(new ResizeVhdRequest { Path = data, SizeBytes = 64 * MiB }).ResponseAsync);
        output.WriteLine(refused.Status.Detail);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("in use by VM 'resize'", refused.Status.Detail);
        Assert.Contains($"reach {128 * MiB} bytes", refused.Status.Detail);

        console = await host.ReadConsoleAsync("resize", t => t.Contains("TEST-FS-SHRUNK"), TimeSpan.FromSeconds(300), "go\n"u8.ToArray());
        Assert.Contains("TEST-FS-SHRUNK", console);
        var shrunk = await vhd.ResizeVhdAsync(new ResizeVhdRequest { Path = data, SizeBytes = 64 * MiB });
        Assert.Equal(64 * MiB, shrunk.Size);
        console = await host.ReadConsoleAsync("resize", t => Regex.IsMatch(t, @"TEST-SHRUNK \d+ \d+\s"), TimeSpan.FromSeconds(300), "go\n"u8.ToArray());
        var last = Regex.Match(console, @"TEST-SHRUNK (\d+) (\d+)");
        output.WriteLine($"guest after the shrink: {last.Groups[1].Value} sectors, ext4 {last.Groups[2].Value} KiB");
        Assert.Equal("131072", last.Groups[1].Value);
        Assert.InRange(long.Parse(last.Groups[2].Value), 40_000, 49_152);
        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        using var closed = VirtualDisk.Open(data, DiskOpenOptions.ReadOnlyDefault);
        Assert.Equal(64 * MiB, closed.Capacity);
    }
}
