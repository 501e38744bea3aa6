using System.Diagnostics;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Tests.Memory;

/// <summary>Waits on what the Dynamic Memory balancer does to running guests, as Get-VM shows it.</summary>
internal static class BalancerWait
{
    private const long MiB = 1L << 20;

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
