using HyperSharp.Machine.Boot;
using HyperSharp.Machine.Migration;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Tests.State;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Migration;

/// <summary>
/// A tiny guest that rewrites every page of 8 MiB round and round, faster than pre-copy can chase it: the dirty log of each
/// backend sees its writes, auto-converge throttles it (on the Emulated backend; on KVM the host's scheduler decides whether
/// the guest outpaces the link), and at the handover the destination's memory is the source's exactly.
/// </summary>
public sealed class DirtyingGuestMigrationTests(ITestOutputHelper output)
{
    private const ulong First = 0x200000, End = 0xA00000;

    // mov rdi, 0x200000 / again: mov [rdi], rax; add rdi, 4096; inc rax; cmp rdi, 0xA00000; jb again / jmp to the start
    private static readonly byte[] Code = Convert.FromHexString("48BF0000200000000000" + "488907" + "4881C700100000" + "48FFC0" + "4881FF0000A000" + "72EA" + "EBDE");

    [Theory]
    [InlineData("emulated")]
    [InlineData("kvm")]
    public async Task AGuestThatOutpacesTheLinkIsThrottledAndArrivesWithItsMemoryExact(string backend)
    {
        if (backend == "kvm" && !CounterGuest.KvmUsable(out string why)) { output.WriteLine("skipped: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-migrate-dirty").FullName;
        try
        {
            string kernel = Path.Combine(dir, "dirty.elf");
            File.WriteAllBytes(kernel, ElfBuilder.Wrap(Code, 0x100000));
            var config = new VmConfig { KernelPath = kernel, MemorySize = 16 << 20, ConsoleOutput = _ => { }, Log = output.WriteLine };
            var hypervisor = CounterGuest.Hypervisor(backend);
            using var owned = hypervisor as IDisposable;
            using var source = new VirtualMachineBuilder(hypervisor, config).Build();
            var sourceRun = Task.Run(source.Run);
            WaitUntil(() => source.Memory.Read<ulong>(End - 4096) != 0, sourceRun, "the guest to finish its first pass over the 8 MiB");

            ulong atStart = source.Memory.Read<ulong>(First); // the guest's counter: its writes so far
            using var link = await LoopbackConnection.OpenAsync();
            var destinationHypervisor = CounterGuest.Hypervisor(backend);
            using var ownedToo = destinationHypervisor as IDisposable;
            var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(destinationHypervisor, link.Destination, _ => { }, output.WriteLine));
            var options = new MigrationOptions
            {
                DowntimeTarget = TimeSpan.FromTicks(1), MaxRounds = 8, // never small enough: every round until the limit
                Progress = r => output.WriteLine($"round {r.Number}: {r.Pages} pages in {r.Duration.TotalMilliseconds:0.0} ms, throttle {r.ThrottlePercent}%{(r.Paused ? " (paused)" : "")}"),
            };
            var result = await MigrationSource.SendAsync(source, SavedVmConfig.From(config), hypervisor.Name, link.Source, options);
            output.WriteLine(result.ToString());
            using var moved = await receiving;
            Assert.Equal(VmStopReason.Stopped, (await sourceRun).Reason);
            LinuxMigrationEmulatedTests.AssertSameMemory(source, moved);

            ulong atHandover = moved.Memory.Read<ulong>(First);
            ulong passes = (atHandover - atStart) / ((End - First) / 4096);
            // On KVM the guest's vCPU is a host thread the scheduler may starve or not (on a paravirtual host its kernel code
            // is also emulated), so whether it outpaces the link — and so whether the throttle engages — is the host's call:
            // seen both ways in CI. There the dirty log must still have seen every write after round 0 (some round after it
            // carries pages), and the memory is exact (above). The Emulated backend's guest outpaces the link every time.
            if (backend == "kvm")
            {
                output.WriteLine($"the guest rewrote its 8 MiB {passes} times during pre-copy; throttle {(result.Rounds.Any(r => r.ThrottlePercent > 0) ? "engaged" : "not needed")}");
                if (passes >= 2) Assert.True(result.Rounds.Skip(1).Sum(r => (long)r.Pages) > 0, $"the guest wrote {passes} passes but no round after the first found a dirty page: {result}");
            }
            else
            {
                // Round 0, pre-copy rounds until the limit or until a heavily throttled guest left nothing dirty, the paused one.
                Assert.InRange(result.Rounds.Count, 4, options.MaxRounds + 2);
                Assert.All(result.Rounds.Skip(1).SkipLast(1), r => Assert.True(r.Pages > 0, $"round {r.Number} found nothing dirty: the log missed the guest's writes"));
                Assert.Contains(result.Rounds, r => r.ThrottlePercent > 0);
            }

            var run = Task.Run(moved.Run);
            WaitUntil(() => moved.Memory.Read<ulong>(First) != atHandover, run, "the guest to write on at the destination");
            moved.Stop();
            await run;
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Waits for a condition on guest memory, which the guest gives no other sign of; fails if the VM stops or a minute passes.</summary>
    private static void WaitUntil(Func<bool> condition, Task<VmStopped> run, string what)
    {
        var deadline = Environment.TickCount64 + 60_000;
        while (!condition())
        {
            if (run.IsCompleted) Assert.Fail($"the VM stopped ({run.Result}) while waiting for {what}");
            if (Environment.TickCount64 > deadline) Assert.Fail($"a minute passed waiting for {what}");
            Thread.Sleep(1);
        }
    }
}
