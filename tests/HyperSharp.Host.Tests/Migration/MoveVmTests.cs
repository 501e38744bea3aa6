using System.Diagnostics;
using Grpc.Core;
using HyperSharp.Api.Tls;
using HyperSharp.Api.V1;
using HyperSharp.Inventory.Platform;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Migration;

/// <summary>
/// Move-VM between two `hyper host` processes (shared storage, mutual TLS on loopback addresses): a counting guest on the
/// Emulated backend moves back and forth and counts on with no line lost or repeated, on exactly one host after each move; a
/// move that cannot happen — migration disabled, a peer of another authority, the destination's worker killed — leaves it
/// running where it was.
/// </summary>
public sealed class MoveVmTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private const string Vm = "mover";

    private static async Task<ConsoleTap> StartCounterAsync(HostPair hosts, PeerHostProcess host)
    {
        string kernel = Path.Combine(hosts.Shared, "counter.elf");
        await File.WriteAllBytesAsync(kernel, TestGuests.Counter(200_000));
        await host.Client.CreateVmAsync(new CreateVmRequest { Name = Vm, Boot = new BootSource { KernelPath = kernel }, MemoryStartupBytes = 64L << 20, Backend = "emulated" });
        await host.Client.StartVmAsync(new VmRef { Name = Vm });
        var tap = ConsoleTap.Attach(host.Client, Vm, Patience);
        await tap.WaitForAsync(text => CounterOutput.Numbers(text).Count >= 10, Patience, "ten lines");
        return tap;
    }

    /// <summary>The VM is listed by <paramref name="owner"/> (running) and by no other host.</summary>
    private static async Task AssertOnlyOn(PeerHostProcess owner, params PeerHostProcess[] others)
    {
        var vm = Assert.Single((await owner.ListAsync()).Vms);
        Assert.Equal((Vm, VmState.Running), (vm.Name, vm.State));
        foreach (var other in others) Assert.Empty((await other.ListAsync()).Vms);
    }

    [Fact]
    public async Task ACountingVmMovesBackAndForthAndCountsOnWithoutAGap()
    {
        await using var hosts = HostPair.Create(output);
        var a = await hosts.StartAsync("a", 1);
        var b = await hosts.StartAsync("b", 2);
        var taps = new List<ConsoleTap> { await StartCounterAsync(hosts, a) };
        Assert.Empty((await a.Client.LiveMigration.CompareVmAsync(new MoveVmRequest { Vm = new VmRef { Name = Vm }, DestinationHost = b.Address })).Incompatibilities);

        var (from, to) = (a, b);
        for (int move = 1; move <= 4; move++)
        {
            var clock = Stopwatch.StartNew();
            if (move % 2 == 0)
            {
                // `hyper vm move` as an administrator types it: the same call as Move-VM.
                var (check, cli) = (from, to);
                var checkedOut = await Task.Run(() => CliRunner.Run(output, "vm", "move", Vm, "--to", cli.Address, "--check", "--host-socket", check.Socket));
                Assert.Equal(0, checkedOut.Exit);
                clock.Restart();
                var printed = await Task.Run(() => CliRunner.Run(output, "vm", "move", Vm, "--to", cli.Address, "--host-socket", check.Socket));
                Assert.Equal(0, printed.Exit);
                Assert.Contains($"runs on {cli.Address} now", printed.Out);
                output.WriteLine($"move {move} {from.Name}->{to.Name}: hyper vm move {clock.Elapsed.TotalMilliseconds:0} ms");
            }
            else
            {
                var moving = from.Client.LiveMigration.MoveVmAsync(new MoveVmRequest { Vm = new VmRef { Name = Vm }, DestinationHost = to.Address }).ResponseAsync;
                // While it moves, Get-VM on the source says so (the destination's worker takes a second to start: long enough to see).
                string status = "";
                while (!moving.IsCompleted && !status.StartsWith("Migrating - ", StringComparison.Ordinal))
                    status = (await from.ListAsync()).Vms.SingleOrDefault()?.Status ?? "";
                Assert.Matches(@"^Migrating - \d+%$", status);
                var moved = await moving;
                output.WriteLine($"move {move} {from.Name}->{to.Name}: Move-VM {clock.Elapsed.TotalMilliseconds:0} ms, engine total {moved.TotalMs:0} ms, downtime {moved.DowntimeMs:0.0} ms ({moved.Summary})");
                Assert.Equal(VmState.Running, moved.Vm.State);
            }
            await AssertOnlyOn(to, from);
            var tap = ConsoleTap.Attach(to.Client, Vm, Patience);
            taps.Add(tap);
            // It counts on there: lines it printed itself, after the ones it brought (its console starts at its arrival).
            await tap.WaitForAsync(text => CounterOutput.Numbers(text).Count >= 5, Patience, "five lines on the destination");
            await taps[^2].Ended.WaitAsync(Patience); // the source's worker has gone, its console with it
            (from, to) = (to, from);
        }
        await from.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = Vm }, TurnOff = true });
        await taps[^1].Ended.WaitAsync(Patience);

        // Every incarnation's console, in order: 1, 2, 3... with no line lost or repeated across four moves.
        string all = string.Concat(taps.Select(t => t.Text));
        CounterOutput.AssertConsecutiveFromOne(all);
        Assert.All(taps, t => Assert.NotEmpty(CounterOutput.Numbers(t.Text)));
    }

    [Fact]
    public async Task AMoveThatCannotHappenLeavesTheVmRunningWhereItWas()
    {
        await using var hosts = HostPair.Create(output);
        var a = await hosts.StartAsync("a", 1);
        var b = await hosts.StartAsync("b", 2);
        var stranger = new TlsFiles(Path.Combine(hosts.Root, "other-tls"));
        HostCertificates.Create(stranger, ["localhost"], [System.Net.IPAddress.Parse("127.0.0.3")]);
        var c = await hosts.StartAsync("c", 3, stranger);
        var tap = await StartCounterAsync(hosts, a);
        var request = new MoveVmRequest { Vm = new VmRef { Name = Vm }, DestinationHost = b.Address };

        async Task Refused(PeerHostProcess source, MoveVmRequest move, string because)
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => source.Client.LiveMigration.MoveVmAsync(move).ResponseAsync);
            output.WriteLine($"refused: {refused.Status.Detail}");
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
            Assert.Contains(because, refused.Status.Detail);
            await AssertOnlyOn(a, b, c);
            long last = CounterOutput.Last(tap.Text);
            await tap.WaitForAsync(text => CounterOutput.Last(text) > last + 2, Patience, "the count going on at the source");
        }

        // Migration disabled at the destination, then at the source; Compare-VM says so beforehand.
        await b.Client.LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationEnabled = false });
        var compared = await a.Client.LiveMigration.CompareVmAsync(request);
        Assert.Contains(compared.Incompatibilities, i => i.Contains("disabled on the destination"));
        await Refused(a, request, "disabled on the destination");
        await b.Client.LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationEnabled = true });
        await a.Client.LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationEnabled = false });
        await Refused(a, request, "disabled on this host");
        await a.Client.LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationEnabled = true });

        // A name the destination already uses: Compare-VM and Move-VM say so.
        await b.Client.CreateVmAsync(new CreateVmRequest { Name = Vm.ToUpperInvariant() });
        Assert.Contains((await a.Client.LiveMigration.CompareVmAsync(request)).Incompatibilities, i => i.Contains("already has a VM named"));
        var taken = await Assert.ThrowsAsync<RpcException>(() => a.Client.LiveMigration.MoveVmAsync(request).ResponseAsync);
        Assert.Contains("already has a VM named", taken.Status.Detail);
        await b.Client.RemoveVmAsync(new RemoveVmRequest { Vm = new VmRef { Name = Vm.ToUpperInvariant() } });

        // A VM whose disk the destination cannot reach (gone from the shared storage): Compare-VM names the disk. Being
        // writable is no problem (the disks are handed over in the pause: DebianGuestMoveTests).
        string disk = Path.Combine(hosts.Shared, "data.vhdx");
        HyperSharp.Vhdx.VirtualDisk.Create(disk, new HyperSharp.Vhdx.DiskCreateOptions { Capacity = 1 << 20 }).Dispose();
        await a.Client.CreateVmAsync(new CreateVmRequest { Name = "disky", VhdPath = disk });
        File.Delete(disk);
        var disky = await a.Client.LiveMigration.CompareVmAsync(new MoveVmRequest { Vm = new VmRef { Name = "disky" }, DestinationHost = b.Address });
        Assert.Contains(disky.Incompatibilities, i => i.Contains(disk) && i.Contains("not reachable on the destination"));
        Assert.DoesNotContain(disky.Incompatibilities, i => i.Contains("writable"));
        Assert.Contains(disky.Incompatibilities, i => i.Contains("only a running VM moves live"));
        await a.Client.RemoveVmAsync(new RemoveVmRequest { Vm = new VmRef { Name = "disky" } });

        // A host of another authority: neither trusts the other, nothing reaches it.
        await Refused(a, new MoveVmRequest { Vm = request.Vm, DestinationHost = c.Address }, "mutual TLS");

        // The destination's worker killed once it waits for the VM: the move fails before the handover.
        var moving = a.Client.LiveMigration.MoveVmAsync(request).ResponseAsync;
        int victim = await WaitForListeningWorkerAsync(b, moving);
        Posix.Signal(victim, Posix.SigKill);
        var failed = await Assert.ThrowsAsync<RpcException>(() => moving);
        output.WriteLine($"destination killed: {failed.Status.Detail}");
        Assert.Equal(StatusCode.FailedPrecondition, failed.StatusCode);
        Assert.Contains("runs on here", failed.Status.Detail);
        await WaitUntilAsync(async () => (await b.ListAsync()).Vms.Count == 0, "the destination forgetting the VM that never arrived");
        await AssertOnlyOn(a, b, c);
        Assert.Equal("Operating normally", Assert.Single((await a.ListAsync()).Vms).Status);
        long before = CounterOutput.Last(tap.Text);
        await tap.WaitForAsync(text => CounterOutput.Last(text) > before + 2, Patience, "the count going on at the source");

        // And the same VM then moves all the same, this time uncompressed (TCPIP; the moves above used the default, Compression).
        await a.Client.LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationPerformanceOption = MigrationPerformanceOption.Tcpip });
        await a.Client.LiveMigration.MoveVmAsync(request);
        await AssertOnlyOn(b, a, c);
    }

    /// <summary>The destination's arriving worker, once its log says it waits for the VM (before the move could end).</summary>
    internal static async Task<int> WaitForListeningWorkerAsync(PeerHostProcess host, Task moving)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline && !moving.IsCompleted)
        {
            foreach (var log in Directory.EnumerateFiles(host.Root, "worker.log", SearchOption.AllDirectories))
            {
                string text;
                try { text = await File.ReadAllTextAsync(log); } catch (IOException) { continue; }
                if (text.Contains("waiting for the migrating VM") && host.Workers() is [int pid]) return pid;
            }
            await Task.Delay(2); // the log is the only sign of this moment; looked at until it shows
        }
        throw new Xunit.Sdk.XunitException("the destination's worker never said it waits for the VM, or the move ended first");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
