using System.Management.Automation;
using HyperSharp.Host;
using HyperSharp.Host.Tests.Cluster;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// The FailoverClusters cmdlets against a real etcd member and a host that is node a of the cluster (node b is named
/// but never started, so it is Down): New-Cluster, Get-Cluster, Get-/Add-/Remove-ClusterNode,
/// Add-ClusterVirtualMachineRole, Get-/Set-/Stop-/Start-ClusterGroup, Suspend-/Resume-ClusterNode and
/// Move-ClusterVirtualMachineRole, each as an administrator types it.
/// </summary>
public sealed class ClusterCmdletTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EtcdMember _etcd = null!;
    private HostServer _host = null!;
    private PsSession _ps = null!;
    private readonly string _root = Directory.CreateDirectory(Path.Combine("/tmp", "hs-pc-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public async Task InitializeAsync()
    {
        _etcd = await EtcdMember.StartAsync();
        _host = await HostServer.StartAsync(new HostServerOptions
        {
            InventoryRoot = Path.Combine(_root, "inv"), SocketPath = Path.Combine(_root, "host.sock"),
            WorkerCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "hyper.dll")],
            Cluster = new HyperSharp.Host.Cluster.ClusterNodeOptions { EtcdEndpoints = [_etcd.Endpoint], NodeName = "a" },
            Log = line => { try { output.WriteLine($"host: {line}"); } catch (InvalidOperationException) { } },
        });
        _ps = new PsSession(Path.Combine(_root, "host.sock"), _root);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        foreach (var vm in _host.Manager.List(null).Where(v => v.WorkerPid > 0)) HyperSharp.Inventory.Platform.Posix.Signal(vm.WorkerPid, HyperSharp.Inventory.Platform.Posix.SigKill);
        await _host.DisposeAsync();
        _etcd.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private async Task<T> One<T>(string script) => (T)Assert.Single((await _ps.RunAsync(script)).Ok()).BaseObject;

    [Fact]
    public async Task An_admin_builds_a_cluster_and_clusters_a_vm()
    {
        var cluster = await One<Cluster>("New-Cluster -Name lab -Node a, b");
        Assert.Equal(("lab", 1000, 10, 1), (cluster.Name, cluster.SameSubnetDelay, cluster.SameSubnetThreshold, cluster.ClusterFunctionalLevel));
        Assert.Equal("lab", (await One<Cluster>("Get-Cluster")).Name);

        // Node a is up once its host took its lease; b was never started.
        var deadline = DateTime.UtcNow.AddMinutes(1);
        List<ClusterNode> nodes;
        do nodes = [.. (await _ps.RunAsync("Get-ClusterNode")).Ok().Select(o => (ClusterNode)o.BaseObject)];
        while (nodes.Single(n => n.Name == "a").State != ClusterNodeState.Up && DateTime.UtcNow < deadline);
        Assert.Equal([("a", ClusterNodeState.Up, "1"), ("b", ClusterNodeState.Down, "2")], nodes.Select(n => (n.Name, n.State, n.Id)));

        // A VM on the shared storage becomes a group owned by a; its priority changes through Set-ClusterGroup.
        string shared = Directory.CreateDirectory(Path.Combine(_root, "shared")).FullName, kernel = Path.Combine(shared, "idle.elf");
        File.WriteAllBytes(kernel, HyperSharp.Machine.Boot.ElfBuilder.Wrap([0xFB, 0xF4, 0xEB, 0xFC], 0x100000));
        (await _ps.RunAsync($"New-VM -Name web -Path '{shared}' -MemoryStartupBytes 64MB -KernelPath '{kernel}' -Backend Emulated | Start-VM")).Ok();
        var group = await One<ClusterGroup>("Add-ClusterVirtualMachineRole -VMName web -Priority 1000");
        Assert.Equal(("web", "a", 1000u, "VirtualMachine"), (group.Name, group.OwnerNode, group.Priority, group.GroupType));
        Assert.Equal(3000u, (await One<ClusterGroup>("Get-ClusterGroup web | Set-ClusterGroup -Priority 3000")).Priority);
        Assert.Equal(3000u, (await One<ClusterGroup>("Get-ClusterGroup w*")).Priority);

        var stopped = await One<ClusterGroup>("Stop-ClusterGroup web");
        Assert.Equal(ClusterGroupState.Offline, stopped.State);
        Assert.Equal("Off", (await One<VirtualMachine>("Get-VM web")).State.ToString());
        var started = await One<ClusterGroup>("Start-ClusterGroup web");
        Assert.Equal((ClusterGroupState.Online, "a"), (started.State, started.OwnerNode));
        Assert.Equal("Running", (await One<VirtualMachine>("Get-VM web")).State.ToString());

        // A drain with nowhere to go: the node is Paused, its VM stays and the drain says why; resumed, it is Up again.
        var paused = await One<ClusterNode>("Suspend-ClusterNode a -Drain");
        Assert.Equal((ClusterNodeState.Paused, NodeDrainStatus.Failed), (paused.State, paused.DrainStatus));
        Assert.Contains("web: no other node is Up and not Paused", paused.DrainError);
        Assert.Equal(ClusterNodeState.Paused, (await One<ClusterNode>("Get-ClusterNode a")).State);
        Assert.Equal("Running", (await One<VirtualMachine>("Get-VM web")).State.ToString());
        Assert.Equal(ClusterNodeState.Up, (await One<ClusterNode>("Resume-ClusterNode a -Failback Immediate")).State);
        Assert.Contains("node 'b' is Down", Assert.Single((await _ps.RunAsync("Move-ClusterVirtualMachineRole web -Node b")).Errors).ToString());
        Assert.Contains("Quick migration (save, move, restore) is not offered yet", Assert.Single((await _ps.RunAsync("Move-ClusterVirtualMachineRole web -Node b -MigrationType Quick")).Errors).ToString());

        // Placement settings, kept in etcd: preferred owners in order (as the cluster spells the nodes), anti-affinity classes.
        var owners = await One<ClusterOwnerNodeList>("Set-ClusterOwnerNode -Group web -Owners B, a");
        Assert.Equal(("web", "b,a"), (owners.ClusterObject, string.Join(',', owners.OwnerNodes)));
        Assert.Equal(["b", "a"], (await One<ClusterOwnerNodeList>("Get-ClusterOwnerNode -Group web")).OwnerNodes);
        Assert.Equal(["dc"], (await One<ClusterGroup>("Set-ClusterGroup web -AntiAffinityClassNames dc")).AntiAffinityClassNames);
        var web = await One<ClusterGroup>("Get-ClusterGroup web");
        Assert.Equal((3000u, "dc"), (web.Priority, string.Join(',', web.AntiAffinityClassNames)));
        Assert.Contains("preferred owner 'z' is not a node", Assert.Single((await _ps.RunAsync("Set-ClusterOwnerNode -Group web -Owners z")).Errors).ToString());

        // Membership: a node added is Down until its host runs; a node that owns groups cannot be removed.
        Assert.Equal(("c", ClusterNodeState.Down), ((await One<ClusterNode>("Add-ClusterNode c")).Name, (await One<ClusterNode>("Get-ClusterNode c")).State));
        (await _ps.RunAsync("Remove-ClusterNode c -Force")).Ok();
        Assert.Empty((await _ps.RunAsync("Get-ClusterNode c")).Ok());
        var refused = Assert.Single((await _ps.RunAsync("Remove-ClusterNode a -Force")).Errors);
        Assert.Contains("node 'a' owns web", refused.ToString());
        // Bad input: a priority Hyper-V does not have, a VM not on shared storage.
        Assert.StartsWith("ParameterArgumentValidationError", Assert.Single((await _ps.RunAsync("Set-ClusterGroup web -Priority 1500")).Errors).FullyQualifiedErrorId);
        (await _ps.RunAsync($"New-VM -Name local -MemoryStartupBytes 64MB -KernelPath '{kernel}'")).Ok();
        Assert.Contains("storage every node sees", Assert.Single((await _ps.RunAsync("Add-ClusterVirtualMachineRole -VMName local")).Errors).ToString());
    }
}
