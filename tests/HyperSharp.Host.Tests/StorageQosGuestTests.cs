using System.Globalization;
using System.Text.RegularExpressions;
using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Storage QoS (Set-VMHardDiskDrive -MaximumIOPS) seen from a real guest: the Debian kit guest (Emulated backend, under
/// the in-process host) reads its data disk three times, timing each read with its own clock. The limit set while the VM
/// was off holds from its start; lifting it while the guest runs makes the next read fast; setting it again slows the
/// next one down (the lift goes through the CLI). Each read covers ground not read before, so the guest's page cache cannot hide the disk.
/// </summary>
public class StorageQosGuestTests(ITestOutputHelper output)
{
    private const int Limit = 40;          // normalized IOPS: 40 x 8 KiB = 320 KiB/s
    private const int ReadKiB = 800;       // 100 normalized I/Os at least (readahead only adds to them)

    // Sourced by the kit's /init; each read waits for a line from the host (the console's stdin).
    private const string GuestScript = ScsiGuestShell.Functions + """
        disk=$(scsi_disk 1)
        run() { s=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/$disk of=/dev/null bs=8k count=100 skip=$1 2>/dev/null; e=$(cut -d' ' -f1 /proc/uptime); echo "TEST-READ-$2 $s $e"; }
        echo TEST-READY
        read -r step; run 0 1
        read -r step; run 2000 2
        read -r step; run 4000 3
        """;

    [Fact]
    public async Task A_drives_maximum_IOPS_paces_the_guests_reads_from_its_start_and_changes_while_it_runs()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        await using var host = await HostFixture.StartAsync(output);
        var client = host.Client;
        string initrd = GuestOverlay.Build(kit, host.Root, new Dictionary<string, string> { ["50-qos.sh"] = GuestScript });
        string boot = Path.Combine(host.Root, "boot.vhdx"), data = Path.Combine(host.Root, "data.vhdx");
        VirtualDisk.Create(boot, new DiskCreateOptions { Capacity = 1 << 20 }).Dispose();
        using (var disk = VirtualDisk.Create(data, new DiskCreateOptions { Capacity = 64 << 20 })) disk.Write(0, new byte[64 << 20].AsSpan()); // allocated: reads cost the same everywhere
        var vm = new VmRef { Name = "qos" };
        await client.CreateVmAsync(new CreateVmRequest
        {
            Name = "qos", MemoryStartupBytes = 256L << 20, Backend = "emulated", VhdPath = boot,
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        await client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = vm, Path = data });
        SetHardDiskDriveRequest Qos(long? maximum, long? minimum = null)
        {
            var r = new SetHardDiskDriveRequest { Vm = vm, ControllerType = ControllerType.Scsi, ControllerLocation = 1 };
            if (maximum is { } max) r.MaximumIops = max;
            if (minimum is { } min) r.MinimumIops = min;
            return r;
        }

        // Hyper-V's rule: a maximum below the minimum is refused, naming the parameter; nothing changes.
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.SetHardDiskDriveAsync(Qos(10, 20)));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("maximum_iops", refused.Status.Detail);
        var drive = await client.SetHardDiskDriveAsync(Qos(Limit));
        Assert.Equal((Limit, 0L), (drive.MaximumIops, drive.MinimumIops));
        Assert.Equal(Limit, (await client.ListHardDiskDrivesAsync(vm)).Drives.Single(d => d.ControllerLocation == 1).MaximumIops);

        await client.StartVmAsync(vm);
        Assert.Contains("TEST-READY", await host.ReadConsoleAsync("qos", t => t.Contains("TEST-READY"), TimeSpan.FromSeconds(600)));
        double limitedAtStart = await ReadAsync(host, 1);

        // Lifted through the CLI (`hyper vm disk set`), as an administrator without PowerShell would.
        var cli = CliRunner.Run(output, "vm", "disk", "set", "qos", "--location", "1", "--maximum-iops", "0", "--host-socket", host.SocketPath);
        Assert.Equal(0, cli.Exit);
        Assert.Contains("maximum none", cli.Out);
        double unlimited = await ReadAsync(host, 2);

        await client.SetHardDiskDriveAsync(Qos(Limit));
        double limitedAgain = await ReadAsync(host, 3);

        output.WriteLine($"{ReadKiB} KiB read by the guest: {limitedAtStart:F2} s at {Limit} IOPS (set while off), {unlimited:F2} s without a limit, " +
            $"{limitedAgain:F2} s at {Limit} IOPS (set while running)");
        // 100 units less the bucket's burst of 4, at 40 per second, with 10% for the guest's 10 ms clock and the bucket's edges.
        double floor = (ReadKiB / 8 - Limit / 10) / (double)Limit * 0.9;
        Assert.True(limitedAtStart >= floor, $"the limit set while off did not hold: {limitedAtStart:F2} s < {floor:F2} s");
        Assert.True(limitedAgain >= floor, $"the limit set while running did not hold: {limitedAgain:F2} s < {floor:F2} s");
        Assert.True(unlimited < limitedAtStart / 2, $"lifting the limit while running did not speed the guest up: {unlimited:F2} s vs {limitedAtStart:F2} s");
        await client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
    }

    /// <summary>Asks the guest for read <paramref name="n"/> and returns how long it took by the guest's clock.</summary>
    private static async Task<double> ReadAsync(HostFixture host, int n)
    {
        string console = await host.ReadConsoleAsync("qos", t => Regex.IsMatch(t, $@"TEST-READ-{n} \S+ \S+\s"), TimeSpan.FromSeconds(300), "go\n"u8.ToArray());
        var m = Regex.Match(console, $@"TEST-READ-{n} (\S+) (\S+)");
        return double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) - double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
