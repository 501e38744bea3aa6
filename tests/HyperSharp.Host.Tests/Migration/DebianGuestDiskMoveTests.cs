using System.Text.RegularExpressions;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;

namespace HyperSharp.Host.Tests.Migration;

/// <summary>
/// The Debian guest (Emulated backend) with a writable ext4 VHDX on shared storage, appending a sequence number to a file on
/// it with a sync after each, while it moves between two `hyper host` processes: first a move whose destination worker is
/// killed as it opens the disk (after the source closed it: the VM runs on at the source, its image locked for writing there
/// again), then A→B→A→B. Each time the image's write lock is held by exactly the worker that runs the VM. Afterwards the
/// file shows 1, 2, 3... with no gap and no repeat (the console never goes back and ends where the file does), and e2fsck -fn and `hyper vhd check` find the image clean.
/// </summary>
public sealed class DebianGuestDiskMoveTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(10);

    // The writer runs in the background; the foreground waits for a line on the console (its stdin), then stops it and unmounts.
    private const string Script = ScsiGuestShell.Functions + """
        dmesg -n 1
        mkdir -p /mnt/data && mount -t ext4 /dev/$(scsi_disk 0) /mnt/data && echo MOUNTED
        ( n=0; while [ ! -e /tmp/stop ]; do n=$((n+1)); echo $n >> /mnt/data/seq.txt; sync; echo "SEQ $n"; done ) &
        read -r step
        touch /tmp/stop
        wait
        umount /mnt/data && echo UNMOUNTED
        """;

    private static List<long> Sequence(string text) =>
        Regex.Matches(text, @"^SEQ (\d+)\r?$", RegexOptions.Multiline).Select(m => long.Parse(m.Groups[1].Value)).ToList();

    private static void AssertOneToN(IReadOnlyList<long> numbers, string where)
    {
        for (int i = 0; i < numbers.Count; i++) Assert.True(numbers[i] == i + 1, $"{where}: number {i + 1} reads {numbers[i]} (around it: {string.Join(", ", numbers.Skip(Math.Max(0, i - 3)).Take(7))})");
    }

    [Fact]
    public async Task TheGuestWritesItsDiskOnThroughAKilledDestinationAndThreeMovesWithNoGapOrRepeat()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        if (!File.Exists("/usr/sbin/mkfs.ext4") || !File.Exists("/usr/sbin/debugfs") || !File.Exists("/usr/sbin/e2fsck")) { output.WriteLine("skipped: e2fsprogs is not installed"); return; }
        await using var hosts = HostPair.Create(output);
        var a = await hosts.StartAsync("a", 1);
        var b = await hosts.StartAsync("b", 2);
        string initrd = GuestOverlay.Build(kit, hosts.Shared, new Dictionary<string, string> { ["50-seq.sh"] = Script });
        string raw = Path.Combine(hosts.Shared, "data.raw"), data = Path.Combine(hosts.Shared, "data.vhdx");
        using (var f = File.Create(raw)) f.SetLength(32 << 20);
        GuestOverlay.Run("/usr/sbin/mkfs.ext4", "-q", "-F", raw);
        DiskConvert.Convert(raw, data, new ConvertOptions { Format = DiskFormat.Vhdx, Type = DiskType.Dynamic });
        File.Delete(raw);

        var vm = new VmRef { Name = "debian" };
        await a.Client.CreateVmAsync(new CreateVmRequest
        {
            Name = "debian", MemoryStartupBytes = 256L << 20, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        await a.Client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = vm, Path = data });
        await a.Client.StartVmAsync(vm);
        var taps = new List<ConsoleTap> { ConsoleTap.Attach(a.Client, "debian", Patience) };
        await taps[0].WaitForAsync(text => Sequence(text).Count >= 5, Patience, "the guest writing its sequence");
        Assert.Equal(a.Workers(), FileLocks.WriteHolders(data));

        // The destination's worker killed as it opens the disk in the pause — an open of it by one of B's workers while nobody
        // holds its write lock, so after the source closed it (B's worker also looks at the file as it starts, while the
        // source still holds it: that open passes) — the move fails, and the VM runs on here with its disk writable again.
        var gate = OpenGate.TryCreate(data, pid =>
        {
            if (!b.Workers().Contains(pid) || FileLocks.WriteHolders(data).Count > 0) return false;
            HyperSharp.Inventory.Platform.Posix.Signal(pid, HyperSharp.Inventory.Platform.Posix.SigKill);
            return true;
        }, out string noGate);
        if (gate is null) output.WriteLine($"the killed-destination part is skipped: {noGate}");
        else
        {
            using (gate)
            {
                var failed = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => a.Client.LiveMigration.MoveVmAsync(new MoveVmRequest { Vm = vm, DestinationHost = b.Address }).ResponseAsync);
                output.WriteLine($"destination killed as it opened the disk: {failed.Status.Detail}");
                Assert.Contains("runs on here", failed.Status.Detail);
                Assert.Single(gate.Refused); // killed in the window: the source had let go, the destination not yet taken it
            }
            Assert.Equal(VmState.Running, Assert.Single((await a.ListAsync()).Vms).State);
            Assert.Equal(a.Workers(), FileLocks.WriteHolders(data)); // writable at the source again
            int seen = Sequence(taps[0].Text).Count;
            await taps[0].WaitForAsync(text => Sequence(text).Count > seen + 5, Patience, "the sequence going on at the source");
            for (var deadline = DateTime.UtcNow + Patience; (await b.ListAsync()).Vms.Count > 0; await Task.Delay(20))
                Assert.True(DateTime.UtcNow < deadline, "the destination never forgot the VM that did not arrive");
        }

        // A→B→A→B while it writes.
        var downtimes = new List<double>();
        PeerHostProcess[] route = [a, b, a, b];
        for (int i = 1; i < route.Length; i++)
        {
            var (from, to) = (route[i - 1], route[i]);
            // The source worker's log goes with the VM's folder when it moves away: held open, it is still read afterwards.
            using var sourceLog = new StreamReader(new FileStream(Directory.EnumerateFiles(from.Root, "worker.log", SearchOption.AllDirectories).Single(),
                FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            var moved = await from.Client.LiveMigration.MoveVmAsync(new MoveVmRequest { Vm = vm, DestinationHost = to.Address });
            output.WriteLine($"move {i} ({from.Name}→{to.Name}): engine total {moved.TotalMs:0} ms, downtime {moved.DowntimeMs:0.0} ms ({moved.Summary})");
            output.WriteLine("  source: " + (await sourceLog.ReadToEndAsync()).Split('\n').LastOrDefault(l => l.Contains("migration: downtime"))?.Trim());
            string arrived = await File.ReadAllTextAsync(Directory.EnumerateFiles(to.Root, "worker.log", SearchOption.AllDirectories).Single());
            output.WriteLine("  destination: " + arrived.Split('\n').LastOrDefault(l => l.Contains("writable disks opened"))?.Trim());
            downtimes.Add(moved.DowntimeMs);
            Assert.Empty((await from.ListAsync()).Vms);
            Assert.Equal(VmState.Running, Assert.Single((await to.ListAsync()).Vms).State);
            await taps[^1].Ended.WaitAsync(Patience);
            var tap = ConsoleTap.Attach(to.Client, "debian", Patience);
            await tap.WaitForAsync(text => Sequence(text).Count >= 5, Patience, $"the sequence going on at {to.Name}");
            taps.Add(tap);
            Assert.Equal(to.Workers(), FileLocks.WriteHolders(data));
        }
        output.WriteLine($"downtimes with a writable disk: {string.Join(", ", downtimes.Select(d => $"{d:0.0}"))} ms");

        await GuestConsole.ReadAsync(b.Client, "debian", text => text.Contains("UNMOUNTED"), Patience, "stop\n"u8.ToArray());
        await b.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        await taps[^1].Ended.WaitAsync(Patience);

        // What the guest printed, incarnation after incarnation, then what its file holds: the same 1..N.
        // The console is the guest's word for what it synced; a kernel message can still split a line there, so it must only
        // never go back or repeat and end where the file does. The file itself must be exactly 1..N.
        var printed = Sequence(string.Concat(taps.Select(t => t.Text)));
        output.WriteLine($"{printed.Count} numbers printed, {string.Join(", ", taps.Select(t => Sequence(t.Text).Count))} of them on each host in turn");
        for (int i = 1; i < printed.Count; i++) Assert.True(printed[i] > printed[i - 1], $"the console printed {printed[i]} after {printed[i - 1]}");
        string back = Path.Combine(hosts.Shared, "back.raw"), file = Path.Combine(hosts.Shared, "seq.txt");
        DiskConvert.Convert(data, back, new ConvertOptions { Format = DiskFormat.Raw });
        output.WriteLine(GuestOverlay.Run("/usr/sbin/e2fsck", "-fn", back)); // exit 0: clean (it throws otherwise)
        GuestOverlay.Run("/usr/sbin/debugfs", "-R", $"dump /seq.txt {file}", back);
        var stored = File.ReadAllLines(file).Select(long.Parse).ToList();
        AssertOneToN(stored, "seq.txt");
        Assert.Equal(printed[^1], stored.Count);
        if (printed.Count != stored.Count) output.WriteLine($"the console shows {printed.Count} of the {stored.Count} numbers (lines split by kernel messages)");
        AssertChainClean(output, data);
    }
}
