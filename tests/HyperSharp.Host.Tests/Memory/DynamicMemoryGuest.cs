using System.Diagnostics;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;

namespace HyperSharp.Host.Tests.Memory;

/// <summary>
/// What the Dynamic Memory guest tests share: a Debian kit guest (Emulated backend) of 512 MiB at startup, 256 MiB to
/// 1.5 GiB, running one test script; the workload that claims memory as an application would; and the wait on what the
/// balancer does, as Get-VM shows it.
/// </summary>
internal static class DynamicMemoryGuest
{
    public const long MiB = 1L << 20, Startup = 512 * MiB, Minimum = 256 * MiB, Maximum = 1536 * MiB;

    /// <summary>
    /// Shell: mt/ma print MemTotal/MemAvailable in kB; fill N claims N × 32 MiB of tmpfs, each step once 48 MiB are free,
    /// which only the balancer can give (the balloon's pages back first, then hot-added memory). With a 50% buffer the
    /// spare memory the balancer leaves covers a step from a demand of about 100 MiB on; with Hyper-V's 20% a small
    /// guest's spare memory is smaller than the step.
    /// </summary>
    public const string Workload = """
        mt() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
        ma() { sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
        mkdir -p /mnt/fill && mount -t tmpfs -o size=2g fill /mnt/fill
        fill() {
          i=0
          while [ $i -lt $1 ]; do
            while [ "$(ma)" -lt 49152 ]; do sleep 0.1; done
            dd if=/dev/zero of=/mnt/fill/f$i bs=1048576 count=32 2>/dev/null
            i=$((i + 1))
          done
        }

        """;

    /// <summary>Creates the VM <paramref name="name"/> with dynamic memory, booting the kit with <paramref name="script"/> after <see cref="Workload"/>.</summary>
    public static async Task<VmRef> CreateAsync(HostFixture host, string kit, string name, string script, int buffer, int priority = 50)
    {
        string work = Directory.CreateDirectory(Path.Combine(host.Root, "overlay-" + name)).FullName;
        string initrd = GuestOverlay.Build(kit, work, new Dictionary<string, string> { ["50-dynamic-memory.sh"] = Workload + script });
        var vm = new VmRef { Name = name };
        await host.Client.CreateVmAsync(new CreateVmRequest
        {
            Name = name, MemoryStartupBytes = Startup, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, DynamicMemoryEnabled = true, MinimumBytes = Minimum, MaximumBytes = Maximum, Buffer = buffer, Priority = priority });
        return vm;
    }

    /// <summary>Get-VM until <paramref name="done"/> holds (the balancer's rounds are a second apart), at most 3 minutes.</summary>
    public static async Task<Vm> UntilAsync(VmHost.VmHostClient client, VmRef vm, Func<Vm, bool> done, string what, CancellationToken deadline)
    {
        var clock = Stopwatch.StartNew();
        var now = await client.GetVmAsync(vm, cancellationToken: deadline);
        while (!done(now))
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(3))
                Assert.Fail($"{what}: not seen in {clock.Elapsed.TotalSeconds:F0} s; {Describe(now)}");
            await Task.Delay(250, deadline);
            now = await client.GetVmAsync(vm, cancellationToken: deadline);
        }
        return now;
    }

    public static string Describe(Vm vm) =>
        $"{vm.Name}: assigned {vm.MemoryAssignedBytes / MiB} MiB, demand {vm.MemoryDemandBytes / MiB} MiB, status '{vm.MemoryStatus}'";
}
