using HyperSharp.Hypervisor;
using HyperSharp.Machine.Migration;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Tests.State;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Migration;

/// <summary>
/// The counter guest (lines 1..0x800 on COM1) moved from one VM to another over a loopback TCP connection while it counts:
/// the destination prints the rest with no line lost or repeated. A cancelled, refused, damaged or cut migration leaves
/// the source counting to the end.
/// </summary>
public sealed class CounterMigrationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    /// <summary>A counter VM that runs, and its console.</summary>
    private sealed class Counter : IDisposable
    {
        public required VirtualMachine Vm { get; init; }
        public required GuestConsole Console { get; init; }
        public required Task<VmStopped> Run { get; init; }
        public required VmConfig Config { get; init; }
        public required IHypervisor Hypervisor { get; init; }

        public void Dispose()
        {
            Vm.Stop();
            Run.Wait();
            Vm.Dispose();
            (Hypervisor as IDisposable)?.Dispose();
        }
    }

    private Counter Start(string backend, string dir)
    {
        string kernel = Path.Combine(dir, "counter.elf");
        // On KVM here the guest's kernel-mode code is emulated by the host (~2M instructions/s): a shorter wait per line.
        File.WriteAllBytes(kernel, CounterGuest.Elf(backend == "kvm" ? 10_000 : 100_000));
        var console = new GuestConsole();
        var config = new VmConfig { KernelPath = kernel, MemorySize = 16 << 20, ConsoleOutput = console.Append, Log = output.WriteLine };
        var hypervisor = CounterGuest.Hypervisor(backend);
        var vm = new VirtualMachineBuilder(hypervisor, config).Build();
        return new Counter { Vm = vm, Console = console, Run = Task.Run(vm.Run), Config = config, Hypervisor = hypervisor };
    }

    [Theory]
    [InlineData("emulated")]
    [InlineData("kvm")]
    public async Task ACountingGuestMovesToAnotherVmAndCountsOnWithoutAGap(string backend)
    {
        if (backend == "kvm" && !CounterGuest.KvmUsable(out string why)) { output.WriteLine("skipped: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-migrate").FullName;
        try
        {
            using var source = Start(backend, dir);
            await source.Console.WaitFor("00000100", Patience, source.Run);
            using var link = await LoopbackConnection.OpenAsync();
            var destinationConsole = new GuestConsole();
            var hypervisor = CounterGuest.Hypervisor(backend);
            using var owned = hypervisor as IDisposable;
            var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(hypervisor, link.Destination, destinationConsole.Append, output.WriteLine));
            var result = await MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), source.Hypervisor.Name, link.Source);
            output.WriteLine(result.ToString());
            using var moved = await receiving;
            Assert.Equal(VmStopReason.Stopped, (await source.Run).Reason); // the source stops at the handover
            LinuxMigrationEmulatedTests.AssertSameMemory(source.Vm, moved);
            var run = Task.Run(moved.Run);
            await destinationConsole.WaitFor(CounterGuest.Lines.ToString("X8"), Patience, run);
            Assert.Equal(VmStopReason.PowerOff, (await run).Reason);

            string before = source.Console.Text, after = destinationConsole.Text;
            Assert.Equal(CounterGuest.Expected(), before + after);                  // every line once, in order, across the move
            Assert.NotEqual("", after);
            Assert.True(result.Rounds.Count >= 2 && result.Rounds[^1].Paused, $"pre-copy then a paused round: {result}");
            Assert.True(result.PagesSent > 0 && result.BytesSent > result.PagesSent * 4096, result.ToString());
            Assert.True(result.Downtime < result.Total, result.ToString());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task ACountingGuestMovesToAnotherProcessAndCountsOnThere()
    {
        string peer = Path.Combine(AppContext.BaseDirectory, "HyperSharp.Machine.MigrationPeer");
        Assert.True(File.Exists(peer), $"the destination program is not next to the tests ({peer}); build HyperSharp.slnx first");
        string dir = Directory.CreateTempSubdirectory("hs-migrate").FullName;
        var psi = new System.Diagnostics.ProcessStartInfo(peer, "emulated") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var destination = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException("cannot start the destination program");
        try
        {
            var errors = destination.StandardError.ReadToEndAsync();
            string? listening = await destination.StandardOutput.ReadLineAsync();
            Assert.True(listening?.StartsWith("LISTENING ") == true, $"the destination said '{listening}'; stderr: {(destination.HasExited ? await errors : "")}");
            int port = int.Parse(listening!["LISTENING ".Length..]);
            var rest = destination.StandardOutput.ReadToEndAsync(); // its console after RECEIVED, then STOPPED

            using var source = Start("emulated", dir);
            await source.Console.WaitFor("00000100", Patience, source.Run);
            using var client = new System.Net.Sockets.TcpClient { NoDelay = true };
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            var result = await MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), source.Hypervisor.Name, client.GetStream());
            output.WriteLine(result.ToString());
            Assert.Equal(VmStopReason.Stopped, (await source.Run).Reason);

            Assert.True(await Task.WhenAny(rest, Task.Delay(Patience)) == rest, "the destination process did not finish the count");
            string text = (await rest).Replace("\r", "");
            output.WriteLine($"destination process stderr: {await errors}");
            Assert.StartsWith("RECEIVED\n", text);
            Assert.EndsWith("\nSTOPPED PowerOff\n", text);
            string after = text["RECEIVED\n".Length..^"\nSTOPPED PowerOff\n".Length];
            Assert.Equal(CounterGuest.Expected(), source.Console.Text + after); // every line once, across two processes
            await destination.WaitForExitAsync();
            Assert.Equal(0, destination.ExitCode);
        }
        finally
        {
            if (!destination.HasExited) destination.Kill(); // ours, by its own process handle
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public Task ACancelledMigrationLeavesTheSourceCountingAndTheDestinationEmpty() => WithCountingSource("00000040", async (source, link) =>
    {
        var hypervisor = CounterGuest.Hypervisor("emulated");
        var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(hypervisor, link.Destination, _ => { }, output.WriteLine));
        using var cancel = new CancellationTokenSource();
        var options = new MigrationOptions { Progress = _ => cancel.Cancel() }; // cancelled once the first round went over
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), hypervisor.Name, link.Source, options, cancel.Token));
        var refused = await Assert.ThrowsAsync<MigrationException>(() => receiving);
        Assert.Contains("the source cancelled the migration", refused.Message);
    });

    [Fact]
    public Task ACutConnectionLeavesTheSourceCounting() => WithCountingSource("00000040", async (source, link) =>
    {
        // The destination reads the preamble, accepts like a real one, then dies mid-stream.
        var destination = new DestinationThatDies(link);
        var failed = await Assert.ThrowsAsync<MigrationException>(() =>
            MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), source.Hypervisor.Name, link.Source, new MigrationOptions { Progress = _ => destination.Die() }));
        output.WriteLine(failed.Message);
        Assert.Contains("the destination", failed.Message);
    });

    [Fact]
    public Task ACommitThatNeverArrivesLeavesTheSourcePausedNotRunningAndTheDestinationEmpty() => WithCountingSource("00000040", async (source, link) =>
    {
        var hypervisor = CounterGuest.Hypervisor("emulated");
        var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(hypervisor, link.Destination, _ => { }, output.WriteLine));
        var inDoubt = await Assert.ThrowsAsync<MigrationHandoverInDoubtException>(() =>
            MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), hypervisor.Name, new CutBeforeFrameStream(link.Source, kind: 9 /* Commit */, link.CutAtSource)));
        output.WriteLine(inDoubt.Message);
        Assert.Contains("in doubt", inDoubt.Message);
        output.WriteLine((await Assert.ThrowsAsync<MigrationException>(() => receiving)).Message); // no Commit: the destination has nothing
        // Neither side runs the guest: the source's copy waits, paused, for whoever drives the migration to decide.
        Assert.True(source.Vm.IsPaused);
        Assert.False(source.Run.IsCompleted);
        source.Vm.Resume(); // the destination is known to have nothing: the guest goes on here, no line lost
    });

    [Fact]
    public Task ADamagedFrameIsRefusedByTheDestinationAndTheSourceCountsOn() => WithCountingSource("00000040", async (source, link) =>
    {
        var hypervisor = CounterGuest.Hypervisor("emulated");
        var damaging = new DamagingStream(link.Destination, flipAt: 4096); // inside the first page frame, past the hello
        var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(hypervisor, damaging, _ => { }, output.WriteLine));
        var sending = Task.Run(() => MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), hypervisor.Name, link.Source));
        var refused = await Assert.ThrowsAsync<MigrationException>(() => receiving);
        Assert.Contains("fails its checksum", refused.Message);
        output.WriteLine(refused.Message);
        output.WriteLine((await Assert.ThrowsAsync<MigrationException>(() => sending)).Message);
    });

    [Fact]
    public async Task ADestinationOfAnOlderProtocolRefusesANewerSourceNamingBothVersions()
    {
        using var link = await LoopbackConnection.OpenAsync();
        var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(CounterGuest.Hypervisor("emulated"), link.Destination, _ => { }, output.WriteLine));
        var preamble = new byte[14 + 5];
        "HSVMMIGR"u8.CopyTo(preamble);
        preamble[8] = 99; // protocol 99
        preamble[12] = 5;
        "9.9.9"u8.CopyTo(preamble.AsSpan(14));
        await link.Source.WriteAsync(preamble);
        var refused = await Assert.ThrowsAsync<MigrationException>(() => receiving);
        Assert.Contains("HyperSharp 9.9.9, speaking migration protocol 99", refused.Message);
        Assert.Contains("which speaks protocols 1 to 2", refused.Message);
    }

    [Fact]
    public Task ASourceFacingSomethingElseSaysItIsNotAMigrationPeer() => WithCountingSource("00000010", async (source, link) =>
    {
        await link.Destination.WriteAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
        var refused = await Assert.ThrowsAsync<MigrationException>(() =>
            MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), source.Hypervisor.Name, link.Source));
        Assert.Contains("is not speaking HyperSharp's migration protocol", refused.Message);
    });

    /// <summary>
    /// Starts a counter on the Emulated backend, waits for line <paramref name="marker"/>, runs a migration that must fail,
    /// then checks that the source counts every line to the end and powers off.
    /// </summary>
    private async Task WithCountingSource(string marker, Func<Counter, LoopbackConnection, Task> failingMigration)
    {
        string dir = Directory.CreateTempSubdirectory("hs-migrate").FullName;
        try
        {
            using var source = Start("emulated", dir);
            await source.Console.WaitFor(marker, Patience, source.Run);
            using (var link = await LoopbackConnection.OpenAsync()) await failingMigration(source, link);
            try { await source.Console.WaitFor(CounterGuest.Lines.ToString("X8"), Patience, source.Run); }
            catch (TimeoutException e) when (source.Run.IsCompleted) { throw new TimeoutException($"{e.Message}\nthe source VM stopped: {source.Run.Result}", e); }
            Assert.Equal(VmStopReason.PowerOff, (await source.Run).Reason);
            Assert.Equal(CounterGuest.Expected(), source.Console.Text);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>A destination that answers the preamble and hello like a real one, drains what comes, and dies when told.</summary>
    private sealed class DestinationThatDies
    {
        private readonly LoopbackConnection _link;

        public DestinationThatDies(LoopbackConnection link)
        {
            _link = link;
            _ = Task.Run(async () =>
            {
                var real = new byte[14];
                await link.Destination.ReadExactlyAsync(real);
                await link.Destination.ReadExactlyAsync(new byte[real[12] + 12 + 8]); // its build, then the Hello frame
                var answer = new MemoryStream();
                answer.Write(real.AsSpan(0, 12)); // our preamble: the same magic and version, no build
                answer.Write(new byte[2]);
                answer.Write(AcceptFrame);
                await link.Destination.WriteAsync(answer.ToArray());
                var sink = new byte[1 << 16];
                try { while (await link.Destination.ReadAsync(sink) > 0) { } } catch (IOException) { } catch (ObjectDisposedException) { }
            });
        }

        public void Die() => _link.CutAtDestination();

        // kind 2 (Accept), length 0, CRC-32C of those 8 bytes
        private static byte[] AcceptFrame
        {
            get
            {
                var f = new byte[12];
                f[0] = 2;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(8), HyperSharp.Vhdx.Vhdx.Crc32C.Compute(f.AsSpan(0, 8)));
                return f;
            }
        }
    }

    /// <summary>Passes reads through, but flips one bit of the byte at <paramref name="flipAt"/> (a link that damages data).</summary>
    private sealed class DamagingStream(Stream inner, long flipAt) : Stream
    {
        private long _position;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default)
        {
            int n = await inner.ReadAsync(buffer, cancel);
            Damage(buffer.Span[..n]);
            return n;
        }

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            Damage(buffer[..n]);
            return n;
        }

        private void Damage(Span<byte> got)
        {
            if (flipAt >= _position && flipAt < _position + got.Length) got[(int)(flipAt - _position)] ^= 0x10;
            _position += got.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
        public override void Flush() => inner.Flush();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
