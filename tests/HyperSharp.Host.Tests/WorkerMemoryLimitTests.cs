using System.Globalization;
using HyperSharp.Api.V1;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>Each worker runs under a memory limit of its own: its guest's most memory plus a bounded overhead, set by the kernel's memory controller.</summary>
public class WorkerMemoryLimitTests(ITestOutputHelper output)
{
    [Fact]
    public void The_limit_is_the_most_guest_memory_the_VM_can_have_plus_a_bounded_overhead()
    {
        const long GiB = 1L << 30;
        Assert.Equal((64L << 20) + GiB + (2L << 20), WorkerMemoryCgroup.LimitFor(new MemorySettings { StartupBytes = 64L << 20 }));
        var dynamic = new MemorySettings { StartupBytes = 1 * GiB, DynamicMemoryEnabled = true, MaximumBytes = 4 * GiB };
        Assert.Equal(4 * GiB + GiB + 4 * GiB / 32, WorkerMemoryCgroup.LimitFor(dynamic)); // up to its maximum, hot-add included
        Assert.Equal(12L * 1024 * GiB + GiB + 8 * GiB, WorkerMemoryCgroup.LimitFor(new MemorySettings { StartupBytes = 12L * 1024 * GiB })); // overhead capped
    }

    [Fact]
    public async Task A_running_worker_sits_in_its_own_memory_group_with_its_limit()
    {
        var memory = new WorkerMemoryCgroup();
        if (memory.Kind is null) { output.WriteLine("skipped: this host has no cgroup memory controller"); return; }
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("spin", host.Guest("spin.elf", TestGuests.Spin()));
        var vm = await host.Client.StartVmAsync(new VmRef { Name = "spin" });
        try
        {
            string limitFile = memory.LimitFileOf(Guid.Parse(vm.Id))!;
            long limit = long.Parse(File.ReadAllText(limitFile).Trim(), CultureInfo.InvariantCulture);
            output.WriteLine($"{memory.Kind}: {limitFile} = {limit >> 20} MiB");
            Assert.Equal(WorkerMemoryCgroup.LimitFor(new MemorySettings { StartupBytes = 64L << 20 }), limit);
            var procs = File.ReadAllLines(Path.Combine(Path.GetDirectoryName(limitFile)!, "cgroup.procs"));
            Assert.Contains(vm.WorkerPid.ToString(CultureInfo.InvariantCulture), procs);
        }
        finally
        {
            await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "spin" }, TurnOff = true });
        }
    }
}
