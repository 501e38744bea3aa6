using System.Globalization;
using HyperSharp.Api.V1;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Set-VMProcessor -Maximum and -RelativeWeight act on the worker: a guest that spins is held to its
/// share of a processor by the worker's own cgroup, and lifting the cap on the running VM frees it.
/// </summary>
public class ProcessorLimitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_spinning_guest_is_held_to_its_processor_maximum_and_freed_when_it_is_lifted()
    {
        string? kind = new WorkerCgroup(_ => { }).Kind;
        if (kind is null) { output.WriteLine("skipped: this host has no cgroup hierarchy with the cpu controller"); return; }
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("spin", host.Guest("spin.elf", TestGuests.Spin()));
        await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = new VmRef { Name = "spin" }, Maximum = 5, RelativeWeight = 300 });
        var vm = await host.Client.StartVmAsync(new VmRef { Name = "spin" });
        Assert.Contains("up", await host.ReadConsoleAsync("spin", t => t.Contains("up"), TimeSpan.FromSeconds(60)));

        string group = WorkerGroup(vm.WorkerPid);
        output.WriteLine($"{kind}: worker {vm.WorkerPid} in {group}");
        Assert.Contains("hypersharp/vm-" + Guid.Parse(vm.Id).ToString("N"), group);
        double capped = await CpuPercentAsync(vm.WorkerPid, TimeSpan.FromSeconds(3));
        output.WriteLine($"Maximum 5 %: the worker used {capped:F1} % of a processor");
        Assert.True(capped < 12, $"a 5 % cap held the worker to {capped:F1} %");

        long throttledCapped = ThrottledPeriods(vm.WorkerPid, group);
        await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = new VmRef { Name = "spin" }, Maximum = 100 });
        long throttledAtLift = ThrottledPeriods(vm.WorkerPid, group);
        double free = await CpuPercentAsync(vm.WorkerPid, TimeSpan.FromSeconds(3));
        long throttledFree = ThrottledPeriods(vm.WorkerPid, group);
        output.WriteLine($"Maximum 100 %: the worker used {free:F1} % of a processor; throttled periods {throttledCapped} while capped, "
            + $"{throttledAtLift} at the lift, {throttledFree} three seconds later");
        // What the worker gets once free depends on what else the host runs (on a loaded CI machine, less than the cap
        // allowed), so the proof is the controller's own count: a group without a quota is never throttled again.
        Assert.True(throttledCapped > 0, "a spinning guest under a 5 % cap was never throttled");
        Assert.Equal(throttledAtLift, throttledFree);

        await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "spin" }, TurnOff = true });
    }

    /// <summary>The worker's group in the hierarchy that holds its cpu controller (v1 "N:cpu:/path" or v2 "0::/path").</summary>
    private static string WorkerGroup(int pid)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/cgroup");
        string? line = lines.FirstOrDefault(l => l.Split(':')[1].Split(',').Contains("cpu")) ?? lines.FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal));
        Assert.NotNull(line);
        return line[(line.IndexOf(':', line.IndexOf(':') + 1) + 1)..];
    }

    /// <summary>nr_throttled from the cpu.stat of the worker's group: periods in which the group used up its quota.</summary>
    private static long ThrottledPeriods(int pid, string group)
    {
        string[] mounts = ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup", "/sys/fs/cgroup/unified"];
        string stat = mounts.Select(m => m + group + "/cpu.stat").FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"no cpu.stat for worker {pid}'s group {group}");
        string line = File.ReadAllLines(stat).Single(l => l.StartsWith("nr_throttled ", StringComparison.Ordinal));
        return long.Parse(line["nr_throttled ".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Processor time the process used over <paramref name="span"/>, as percent of one processor (utime + stime from /proc).</summary>
    private static async Task<double> CpuPercentAsync(int pid, TimeSpan span)
    {
        long before = CpuTicks(pid);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(span);
        long after = CpuTicks(pid);
        const double TicksPerSecond = 100; // USER_HZ on Linux
        return (after - before) / TicksPerSecond / clock.Elapsed.TotalSeconds * 100;
    }

    private static long CpuTicks(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after "pid (comm) ": field 3 is state
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture); // utime, stime
    }
}
