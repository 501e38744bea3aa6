using System.Diagnostics;
using System.Text.RegularExpressions;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine.State;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests;

/// <summary>
/// The stock Debian kernel's own drivers (virtio_balloon, virtio_mem) on the Emulated backend, with a 256 MiB guest that
/// may grow to 1.25 GiB: the balloon takes 128 MiB (MemTotal falls, the pages the guest had used leave the host's
/// memory) and gives it back; hot-add grows MemTotal by 1 GiB and the guest stores more than all the free memory it booted
/// with (zeros as large as that, then 64 MiB of a pattern it reads back by checksum: only the file checksummed is small,
/// because the software CPU on a loaded host takes minutes per hundred MiB); then, with the balloon inflated again, the VM is saved and restored in a new machine,
/// which comes back inflated and deflates on request. A second guest, with free page reporting, fills its free memory with
/// files and deletes them, and the host gets at least half of it back.
/// </summary>
public class LinuxRuntimeMemoryEmulatedTests(ITestOutputHelper output)
{
    private const ulong Boot = 256UL << 20, HotAdd = 1UL << 30, Balloon = 128UL << 20;

    // The guest waits for what the host does by watching its own MemTotal; each step says what it saw.
    private const string Script = """
        mt() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
        mf() { sed -n 's/^MemFree: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
        waitfor() { while ! [ "$(mt)" "$1" "$2" ]; do sleep 0.1; done; }
        mkdir -p /big && mount -t tmpfs -o size=1200m tmpfs /big
        t0=$(mt); f0=$(mf)
        echo "TEST-DRIVERS $(ls /sys/bus/virtio/drivers | tr '\n' ' ')"
        dd if=/dev/zero of=/big/fill bs=1M count=100 2>/dev/null; rm /big/fill
        echo "TEST-TOUCHED total=$t0 free=$f0"
        waitfor -lt $((t0 - 120000)); echo "TEST-INFLATED total=$(mt) free=$(mf)"
        waitfor -ge $t0; echo "TEST-DEFLATED total=$(mt)"
        waitfor -gt $((t0 + 1000000)); echo "TEST-GREW total=$(mt) free=$(mf)"
        dd if=/dev/zero of=/big/zeros bs=1M count=$((f0 / 1024)) 2>/dev/null
        yes 0123456789abcdef | head -c 67108864 > /big/data
        a=$(yes 0123456789abcdef | head -c 67108864 | md5sum | cut -d' ' -f1); b=$(md5sum /big/data | cut -d' ' -f1)
        stored="mib=$((f0 / 1024 + 64)) boot-free-mib=$((f0 / 1024)) $([ "$a" = "$b" ] && echo same || echo DIFFERENT) free=$(mf)"
        rm /big/data /big/zeros
        t1=$(mt) # before the line that makes the host inflate the balloon again
        echo "TEST-STORED $stored"
        waitfor -lt $((t1 - 120000)); echo "TEST-REINFLATED total=$(mt)"
        waitfor -ge $t1; echo "TEST-RESTORED-DEFLATED total=$(mt)"
        """;

    // The guest fills all but 48 MiB of its free memory (so how much the kernel and the initramfs take does not decide
    // whether enough can come back); the host says "measured" by inflating the balloon by one page (MemTotal falls by
    // 4 kB), and "done" by deflating it. The guest stays up until then: its kernel reports free memory 2 s after it frees
    // it, and a guest that powered off at once would report nothing.
    private const string ReportingScript = """
        mt() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
        mf() { sed -n 's/^MemFree: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
        mkdir -p /big && mount -t tmpfs -o size=250m tmpfs /big
        t0=$(mt); fill=$(( $(mf) / 1024 - 48 ))
        dd if=/dev/zero of=/big/fill bs=1M count=$fill 2>/dev/null; echo "TEST-FILLED mib=$fill"
        while [ "$(mt)" -ge "$t0" ]; do sleep 0.1; done
        rm /big/fill; echo "TEST-FREED"
        while [ "$(mt)" -lt "$t0" ]; do sleep 0.1; done; echo "TEST-DONE"
        """;

    // One deadline per test from its first wait (the guest kit may be built before that), well inside the runner's 15
    // minutes per test (--blame-hang-timeout), so a guest that never gets somewhere fails with its console in the message
    // instead of aborting the whole run. A quiet host needs about two minutes for either test (xUnit makes a new
    // instance of this class for each test).
    private DateTime? _deadline;
    private TimeSpan Wait
    {
        get
        {
            _deadline ??= DateTime.UtcNow + TimeSpan.FromMinutes(11);
            return _deadline.Value - DateTime.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero;
        }
    }

    /// <summary>True once <paramref name="done"/> holds; false when <paramref name="progress"/> has not moved for 60 s, the VM stopped or the test's time is up.</summary>
    private async Task<bool> Settles(Func<bool> done, Func<long> progress, Task vmRun)
    {
        var still = Stopwatch.StartNew();
        long last = progress();
        while (!done())
        {
            if (still.Elapsed > TimeSpan.FromSeconds(60) || Wait == TimeSpan.Zero || vmRun.IsCompleted) return false;
            await Task.Delay(200);
            if (progress() != last) { last = progress(); still.Restart(); }
        }
        return true;
    }

    private static long Kb(string line, string key) => long.Parse(Regex.Match(line, key + @"=(\d+)").Groups[1].Value);

    [Fact]
    public async Task BalloonReclaimsAndReturnsHotAddGrowsAndAnInflatedVmRestoresInflated()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-memory").FullName;
        try
        {
            string initrd = GuestOverlay.Build(kit, dir, new Dictionary<string, string> { ["50-memory.sh"] = Script });
            string state = Path.Combine(dir, "vm.state");
            var console = new GuestConsole();
            var config = new VmConfig
            {
                KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = Boot, Processors = 1, CommandLine = "console=ttyS0", PciBridges = 0,
                // Free page reporting off: it would hand the pages the guest used back before the balloon could (its own test below).
                RuntimeMemory = new RuntimeMemoryAttachment { MaximumSize = Boot + HotAdd, DeflateOnOutOfMemory = false, FreePageReporting = false },
                ConsoleOutput = console.Append, Log = output.WriteLine,
            };
            using (var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), config).Build())
            {
                var run = Task.Run(vm.Run);
                try
                {
                    string touched = await console.WaitFor("TEST-TOUCHED", Wait, run);
                    Assert.Contains("virtio_balloon", await console.WaitFor("TEST-DRIVERS", Wait, run));
                    long total0 = Kb(touched, "total");
                    ulong residentBefore = vm.TouchedMemoryBytes();

                    var sw = Stopwatch.StartNew();
                    vm.Balloon!.SetTarget(Balloon);
                    string inflated = await console.WaitFor("TEST-INFLATED", Wait, run);
                    Assert.True(SpinWait.SpinUntil(() => vm.Balloon.ActualBytes == Balloon, Wait), $"the driver says it holds {vm.Balloon.ActualBytes} bytes");
                    output.WriteLine($"balloon: 128 MiB reclaimed in {sw.Elapsed.TotalSeconds:F2} s");
                    ulong residentInflated = vm.TouchedMemoryBytes();
                    output.WriteLine($"guest memory resident in the host: {residentBefore >> 20} MiB before, {residentInflated >> 20} MiB inflated");
                    Assert.InRange(total0 - Kb(inflated, "total"), 120_000, 140_000);            // MemTotal fell by the balloon
                    Assert.True(vm.Balloon.InflatedBytes >= Balloon);
                    Assert.True(residentInflated + (64UL << 20) <= residentBefore, "the host kept the memory the guest had used");

                    vm.Balloon.SetTarget(0);
                    Assert.True(Kb(await console.WaitFor("TEST-DEFLATED", Wait, run), "total") >= total0);
                    Assert.True(SpinWait.SpinUntil(() => vm.Balloon.ActualBytes == 0, Wait));
                    Assert.True(vm.Balloon.RequestStatistics() || SpinWait.SpinUntil(() => vm.Balloon.RequestStatistics(), Wait));
                    Assert.True(SpinWait.SpinUntil(() => vm.Balloon.Statistics?.TotalBytes is > 0, Wait), "no statistics from the guest");
                    output.WriteLine($"guest statistics: {vm.Balloon.Statistics}");

                    sw.Restart();
                    vm.HotAdd!.SetRequestedSize(HotAdd);
                    string grew = await console.WaitFor("TEST-GREW", Wait, run);
                    output.WriteLine($"hot-add: 1 GiB seen by the guest in {sw.Elapsed.TotalSeconds:F2} s ({vm.HotAdd.PluggedBytes >> 20} MiB plugged)");
                    Assert.InRange(Kb(grew, "total") - total0, 1_000_000, 1_048_576);
                    Assert.Equal(HotAdd, vm.HotAdd.PluggedBytes);
                    string stored = await console.WaitFor("TEST-STORED", Wait, run);
                    Assert.Contains(" same ", stored);
                    Assert.True(Kb(stored, "mib") * 1024 > Kb(touched, "total"), "the file must not fit in the memory the guest booted with");

                    vm.Balloon.SetTarget(Balloon);
                    await console.WaitFor("TEST-REINFLATED", Wait, run);
                    Assert.True(SpinWait.SpinUntil(() => vm.Balloon.ActualBytes == Balloon, Wait));
                    vm.Pause();
                    vm.Save(state, SavedVmConfig.From(config), "emulated");
                }
                finally
                {
                    vm.Stop();
                    await run;
                }
            }
            output.WriteLine($"saved: {new FileInfo(state).Length >> 20} MiB");

            var restoredConsole = new GuestConsole();
            using (var vm = VirtualMachineBuilder.Restore(new EmulatedHypervisor(), state, restoredConsole.Append, output.WriteLine))
            {
                Assert.Equal(Balloon, vm.Balloon!.ActualBytes);
                Assert.Equal(Balloon, vm.Balloon.TargetBytes);
                Assert.Equal(HotAdd, vm.HotAdd!.PluggedBytes);
                var run = Task.Run(vm.Run);
                try
                {
                    vm.Balloon.SetTarget(0);
                    await restoredConsole.WaitFor("TEST-RESTORED-DEFLATED", Wait, run);
                    Assert.True(SpinWait.SpinUntil(() => vm.Balloon.ActualBytes == 0, Wait));
                }
                finally
                {
                    vm.Stop();
                    await run;
                }
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task MemoryTheGuestFreesReturnsToTheHostByFreePageReporting()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-reporting").FullName;
        try
        {
            var console = new GuestConsole();
            using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
            {
                KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = GuestOverlay.Build(kit, dir, new Dictionary<string, string> { ["50-reporting.sh"] = ReportingScript }),
                MemorySize = Boot, Processors = 1, CommandLine = "console=ttyS0", PciBridges = 0,
                RuntimeMemory = new RuntimeMemoryAttachment { DeflateOnOutOfMemory = false },
                ConsoleOutput = console.Append, Log = output.WriteLine,
            }).Build();
            var run = Task.Run(vm.Run);
            try
            {
                long filled = long.Parse(Regex.Match(await console.WaitFor("TEST-FILLED", Wait, run), @"mib=(\d+)").Groups[1].Value) << 20;
                ulong full = vm.TouchedMemoryBytes();
                vm.Balloon!.SetTarget(4096);
                await console.WaitFor("TEST-FREED", Wait, run);
                // The guest reports free 2 MiB blocks every 2 s while it has them: wait while the resident size falls.
                var sw = Stopwatch.StartNew();
                ulong target = full - (ulong)filled / 2;
                bool returned = await Settles(() => vm.TouchedMemoryBytes() <= target, () => (long)vm.Balloon.ReportedBytes, run);
                output.WriteLine($"guest memory resident in the host: {full >> 20} MiB with {filled >> 20} MiB of files, {vm.TouchedMemoryBytes() >> 20} MiB "
                    + $"{sw.Elapsed.TotalSeconds:F1} s after the guest freed them; {vm.Balloon.ReportedBytes >> 20} MiB reported free");
                Assert.True(returned, "less than half the memory the guest freed came back to the host");
                Assert.True(vm.Balloon.ReportedBytes >= (ulong)filled / 2);
                vm.Balloon.SetTarget(0);
                await console.WaitFor("TEST-DONE", Wait, run);
            }
            finally
            {
                vm.Stop();
                await run;
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
