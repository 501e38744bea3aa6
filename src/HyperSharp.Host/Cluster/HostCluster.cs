using HyperSharp.Cluster;
using HyperSharp.Host.Service;

namespace HyperSharp.Host.Cluster;

/// <summary>`hyper host --cluster-etcd URLS --cluster-node NAME`: where the cluster's etcd is and what this node is called in it.</summary>
public sealed record ClusterNodeOptions
{
    public required IReadOnlyList<string> EtcdEndpoints { get; init; }
    public string NodeName { get; init; } = Environment.MachineName;
    /// <summary>The key prefix the cluster lives under (one etcd can hold several clusters).</summary>
    public string Prefix { get; init; } = ClusterKeys.DefaultPrefix;
}

/// <summary>This host's part in a cluster, when it has one: the etcd store, the administrator's catalog and the running node.</summary>
public sealed class HostCluster : IAsyncDisposable
{
    private HostCluster(EtcdStore store, ClusterCatalog catalog, ClusterNode node)
    {
        Store = store;
        Catalog = catalog;
        Node = node;
    }

    public EtcdStore Store { get; }
    public ClusterCatalog Catalog { get; }
    public ClusterNode Node { get; }

    /// <param name="migrationAddress">where this host takes live migrations (its --tls-listen), for the other nodes' drains and moves</param>
    public static HostCluster Start(ClusterNodeOptions options, VmManager manager, Migration.VmMigrations migrations, string? migrationAddress, Action<string> log)
    {
        var store = new EtcdStore(options.EtcdEndpoints);
        var keys = new ClusterKeys(options.Prefix);
        var node = new ClusterNode(store, keys, options.NodeName, new ClusterVmHost(manager, migrations, migrationAddress, log), log);
        node.Start();
        log($"cluster: node {options.NodeName} uses etcd at {string.Join(", ", options.EtcdEndpoints)} (prefix {keys.Prefix})");
        var catalog = new ClusterCatalog(store, keys);
        return new HostCluster(store, catalog, node) { Maintenance = new NodeMaintenance(store, keys, catalog) };
    }

    /// <summary>Suspend-/Resume-ClusterNode and Move-ClusterVirtualMachineRole.</summary>
    public required NodeMaintenance Maintenance { get; init; }

    /// <summary>The host stops on purpose: the node hands its clustered VMs over at once (<see cref="ClusterNode.LeaveAsync"/>).</summary>
    public Task LeaveAsync() => Node.LeaveAsync();

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync().ConfigureAwait(false);
        Store.Dispose();
    }
}

/// <summary>The cluster as the API reaches it: this host's, or a clear refusal when the host is not a node.</summary>
public sealed class ClusterAccess(HostCluster? cluster)
{
    public HostCluster Required => cluster ?? throw HostErrors.Precondition(
        "this host is not a cluster node: start `hyper host` with --cluster-etcd URL[,URL...] (and --cluster-node NAME)");
}
