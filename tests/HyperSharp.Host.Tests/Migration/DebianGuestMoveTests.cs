using System.Security.Cryptography;
using System.Text.RegularExpressions;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Migration;

/// <summary>
/// The Debian guest (stock kernel, busybox initramfs; Emulated backend) moves between two `hyper host` processes while it
/// ticks: its ticks go on with none lost or repeated, and a read-only disk on shared storage reads the same on the
/// destination (writable ones: DebianGuestDiskMoveTests). Before that, the destination's worker is killed in the middle of pre-copy, and the
/// guest ticks on at the source.
/// </summary>
public sealed class DebianGuestMoveTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(10);

    private const string Script = ScsiGuestShell.Functions + """
        disk=$(scsi_disk 0)
        n=0
        while true; do
          n=$((n+1))
          echo "TICK $n"
          [ $((n % 10)) -eq 0 ] && echo "HASH $(head -c 1048576 /dev/$disk | sha256sum | cut -d' ' -f1)"
          sleep 0.2
        done
        """;

    /// <summary>What process <paramref name="pid"/> has read so far (rchar: sockets included).</summary>
    private static long ReadBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/io"))
                if (line.StartsWith("rchar:", StringComparison.Ordinal)) return long.Parse(line[6..].Trim());
        }
        catch (IOException) { }
        return 0;
    }

    [Fact]
    public async Task TheDebianGuestMovesAndTicksOnWithItsDiskIntact()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        await using var hosts = HostPair.Create(output);
        var a = await hosts.StartAsync("a", 1);
        var b = await hosts.StartAsync("b", 2);
        string initrd = GuestOverlay.Build(kit, hosts.Shared, new Dictionary<string, string> { ["50-tick.sh"] = Script });
        string data = Path.Combine(hosts.Shared, "data.vhdx");
        var bytes = new byte[1 << 20];
        new Random(15).NextBytes(bytes);
        using (var disk = VirtualDisk.Create(data, new DiskCreateOptions { Capacity = 4 << 20 })) disk.Write(0, bytes);
        string hash = Convert.ToHexStringLower(SHA256.HashData(bytes));

        await a.Client.CreateVmAsync(new CreateVmRequest
        {
            Name = "debian", MemoryStartupBytes = 256L << 20, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        await a.Client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = new VmRef { Name = "debian" }, Path = data, ReadOnly = true });
        await a.Client.StartVmAsync(new VmRef { Name = "debian" });
        var before = ConsoleTap.Attach(a.Client, "debian", Patience);
        await before.WaitForAsync(text => text.Contains($"HASH {hash}"), Patience, "the disk's hash on the source");

        // The destination's worker killed in the middle of pre-copy (once it has read 4 MiB of the stream): the guest ticks on at the source.
        var killed = a.Client.LiveMigration.MoveVmAsync(new MoveVmRequest { Vm = new VmRef { Name = "debian" }, DestinationHost = b.Address }).ResponseAsync;
        int victim = await MoveVmTests.WaitForListeningWorkerAsync(b, killed);
        long start = ReadBytes(victim);
        while (!killed.IsCompleted && ReadBytes(victim) - start < 4 << 20) await Task.Delay(1); // nothing to wait on but the counter itself
        Assert.False(killed.IsCompleted, "the move ended before the destination's worker had read 4 MiB: pre-copy was not caught");
        HyperSharp.Inventory.Platform.Posix.Signal(victim, HyperSharp.Inventory.Platform.Posix.SigKill);
        var failed = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => killed);
        output.WriteLine($"destination killed in pre-copy: {failed.Status.Detail}");
        Assert.Contains("runs on here", failed.Status.Detail);
        Assert.Equal(VmState.Running, Assert.Single((await a.ListAsync()).Vms).State);
        long last = Regex.Matches(before.Text, @"TICK (\d+)").Count;
        await before.WaitForAsync(text => Regex.Matches(text, @"TICK (\d+)").Count > last + 3, Patience, "ticks going on at the source");
        for (var deadline = DateTime.UtcNow + Patience; (await b.ListAsync()).Vms.Count > 0; await Task.Delay(20))
            Assert.True(DateTime.UtcNow < deadline, "the destination never forgot the VM that did not arrive");

        var moved = await a.Client.LiveMigration.MoveVmAsync(new MoveVmRequest { Vm = new VmRef { Name = "debian" }, DestinationHost = b.Address });
        output.WriteLine($"Debian guest moved: engine total {moved.TotalMs:0} ms, downtime {moved.DowntimeMs:0.0} ms ({moved.Summary})");
        Assert.Empty((await a.ListAsync()).Vms);
        Assert.Equal(VmState.Running, Assert.Single((await b.ListAsync()).Vms).State);
        await before.Ended.WaitAsync(Patience);
        var after = ConsoleTap.Attach(b.Client, "debian", Patience);
        await after.WaitForAsync(text => Regex.Matches(text, $"HASH {hash}").Count >= 2, Patience, "the disk's hash twice on the destination");
        await b.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "debian" }, TurnOff = true });
        await after.Ended.WaitAsync(Patience);

        // The ticks, source then destination: 1, 2, 3... with none lost or repeated across the move.
        var ticks = Regex.Matches(before.Text + after.Text, @"^TICK (\d+)\r?$", RegexOptions.Multiline).Select(m => long.Parse(m.Groups[1].Value)).ToList();
        output.WriteLine($"ticks {ticks.Count}, {Regex.Matches(before.Text, "TICK").Count} of them on the source");
        Assert.NotEmpty(Regex.Matches(after.Text, @"^TICK \d+", RegexOptions.Multiline));
        for (int i = 0; i < ticks.Count; i++) Assert.True(ticks[i] == i + 1, $"tick {i + 1} reads {ticks[i]}");
    }
}
