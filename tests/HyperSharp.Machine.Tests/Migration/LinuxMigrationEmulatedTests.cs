using System.Text.RegularExpressions;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine.Migration;
using HyperSharp.Machine.State;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Migration;

/// <summary>
/// The stock Debian kernel on the Emulated backend, moved from one VM to another over a loopback TCP connection while a
/// workload keeps rewriting a buffer in its RAM and prints a counter: at the handover the destination's memory equals the
/// source's page for page, and the guest counts on there with no tick lost or repeated and finds its buffers intact.
/// </summary>
public partial class LinuxMigrationEmulatedTests(ITestOutputHelper output)
{
    // /tmp is the initramfs (RAM): "fixed" is written once and checked every tick; "churn" is rewritten every tick (the
    // pages it dirties are what pre-copy chases) and checked against its checksum at the next tick, across the move.
    // The guest ticks until the host types "moved" on its console (after the move), so how fast either side runs does
    // not decide whether the move falls among the ticks.
    private const string Script = """
        dd if=/dev/urandom of=/tmp/fixed bs=64k count=4 2>/dev/null
        F=$(md5sum /tmp/fixed | cut -c1-32); P=""
        i=0; while :; do
          if [ -n "$P" ] && [ "$(md5sum /tmp/churn | cut -c1-32)" != "$P" ]; then echo "TEST-CORRUPT churn $i"; fi
          dd if=/dev/urandom of=/tmp/churn bs=64k count=2 2>/dev/null
          P=$(md5sum /tmp/churn | cut -c1-32)
          if [ "$(md5sum /tmp/fixed | cut -c1-32)" != "$F" ]; then echo "TEST-CORRUPT fixed $i"; fi
          echo "TEST-TICK $i"; i=$((i+1))
          if read -t 1 word && [ "$word" = moved ]; then break; fi
        done
        echo "TEST-DONE ticks=$i"
        """;

    [Fact]
    public async Task ADebianGuestWritingMemoryMovesToAnotherVmAndGoesOnIntact()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-linux-migrate").FullName;
        try
        {
            string initrd = GuestOverlay.Build(kit, dir, new Dictionary<string, string> { ["50-churn.sh"] = Script });
            var before = new GuestConsole();
            var config = new VmConfig
            {
                KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = 256UL << 20, Processors = 1,
                CommandLine = "console=ttyS0", ConsoleOutput = before.Append, Log = output.WriteLine,
            };
            var hypervisor = new EmulatedHypervisor();
            using var source = new VirtualMachineBuilder(hypervisor, config).Build();
            var sourceRun = Task.Run(source.Run);
            await before.WaitFor("TEST-TICK 1", TimeSpan.FromMinutes(10), sourceRun);

            using var link = await LoopbackConnection.OpenAsync();
            var after = new GuestConsole();
            var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(new EmulatedHypervisor(), link.Destination, after.Append, output.WriteLine));
            var result = await MigrationSource.SendAsync(source, SavedVmConfig.From(config), hypervisor.Name, link.Source,
                new MigrationOptions { Progress = r => output.WriteLine($"round {r.Number}: {r.Pages} pages, {r.Bytes >> 10} KiB in {r.Duration.TotalMilliseconds:0} ms{(r.Paused ? " (paused)" : "")}") });
            output.WriteLine(result.ToString());
            using var moved = await receiving;
            Assert.Equal(VmStopReason.Stopped, (await sourceRun).Reason);
            AssertSameMemory(source, moved); // the source stopped at the handover and the destination has not run yet

            var run = Task.Run(moved.Run);
            await after.WaitFor("TEST-TICK", TimeSpan.FromMinutes(4), run); // a whole tick on the destination
            moved.Console.Receive("moved\n"u8);
            int ticks = int.Parse(Regex.Match(await after.WaitFor("TEST-DONE", TimeSpan.FromMinutes(4), run), @"ticks=(\d+)").Groups[1].Value);
            Assert.Equal(VmStopReason.PowerOff, (await run).Reason);
            string text = before.Text + after.Text;
            output.WriteLine($"before the move:\n{before.Text}\nafter it:\n{after.Text}");
            Assert.DoesNotContain("TEST-CORRUPT", text);
            Assert.Equal(Enumerable.Range(0, ticks), TickLine().Matches(text).Select(m => int.Parse(m.Groups[1].Value)));
            Assert.Matches(TickLine(), after.Text); // the move fell among the ticks
            Assert.True(result.Rounds.Count >= 2, result.ToString());
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Every byte of guest memory is the same in both VMs.</summary>
    internal static void AssertSameMemory(VirtualMachine source, VirtualMachine destination)
    {
        Assert.Equal(source.Memory.Size, destination.Memory.Size);
        const int chunk = 1 << 20;
        for (ulong offset = 0; offset < source.Memory.Size; offset += chunk)
        {
            int length = (int)Math.Min(chunk, source.Memory.Size - offset);
            var a = source.Memory.GetSpan(offset, length);
            var b = destination.Memory.GetSpan(offset, length);
            if (!a.SequenceEqual(b))
            {
                int at = a.CommonPrefixLength(b);
                Assert.Fail($"guest memory differs at 0x{offset + (ulong)at:X} after the migration");
            }
        }
    }

    [GeneratedRegex(@"TEST-TICK (\d+)\r?\n")]
    private static partial Regex TickLine();
}
