using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>
/// The second line of defence against a VM on two nodes: a clustered VM's writable disk on the shared storage is held by
/// its worker with an exclusive lock, so another node cannot start a VM on it: the other host's inventory knows nothing
/// of the first VM, and its start is refused because the image cannot be opened while the lock is held.
/// </summary>
public sealed class DiskLockTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AWorkerOnAnotherNodeCannotOpenTheDiskARunningClusteredVmHolds()
    {
        await using var cluster = await ClusterHosts.StartAsync(output, "a", "b");
        await cluster.CreateClusterAsync();
        var (a, b) = (cluster.Hosts[0], cluster.Hosts[1]);
        string disk = Path.Combine(cluster.Shared, "data.vhdx"), kernel = Path.Combine(cluster.Shared, "counter.elf");
        HyperSharp.Vhdx.VirtualDisk.Create(disk, new HyperSharp.Vhdx.DiskCreateOptions { Capacity = 1 << 20 }).Dispose();
        await File.WriteAllBytesAsync(kernel, TestGuests.Counter(2_000_000));
        foreach (var host in new[] { a, b })
            await host.Vms.CreateVmAsync(new CreateVmRequest { Name = "db", Boot = new BootSource { KernelPath = kernel }, MemoryStartupBytes = 64L << 20, Backend = "emulated", Path = cluster.Shared, VhdPath = disk });
        await a.Vms.StartVmAsync(new VmRef { Name = "db" });
        await a.Cluster.AddClusterVmRoleAsync(new AddClusterVmRoleRequest { VmName = "db" });

        var refused = await Assert.ThrowsAsync<RpcException>(() => b.Vms.StartVmAsync(new VmRef { Name = "db" }).ResponseAsync);
        output.WriteLine($"b refused: {refused.Status.Detail}");
        Assert.Contains(disk, refused.Status.Detail);
        Assert.Empty(await b.RunningAsync());
        Assert.Single(await a.RunningAsync());
    }
}
