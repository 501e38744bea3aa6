namespace HyperSharp.Cluster;

/// <summary>
/// Where the cluster lives in etcd, all under one prefix: the cluster record, the member nodes, each live node's
/// heartbeat (bound to its lease), the groups, each group's owner (bound to the owner's lease) and its last status.
/// </summary>
public sealed class ClusterKeys(string prefix = ClusterKeys.DefaultPrefix)
{
    public const string DefaultPrefix = "/hypersharp/cluster/";

    public string Prefix { get; } = prefix.EndsWith('/') ? prefix : prefix + "/";
    public string Cluster => Prefix + "cluster";
    public string Nodes => Prefix + "nodes/";
    public string Alive => Prefix + "alive/";
    public string Groups => Prefix + "groups/";
    public string Owners => Prefix + "owners/";
    public string Statuses => Prefix + "status/";
    public string Moves => Prefix + "moves/";

    public string Node(string name) => Nodes + Escape(name);
    public string AliveKey(string node) => Alive + Escape(node);
    public string Group(string name) => Groups + Escape(name);
    public string Owner(string group) => Owners + Escape(group);
    public string Status(string group) => Statuses + Escape(group);
    public string Move(string group) => Moves + Escape(group);

    /// <summary>Names are matched case-insensitively, as Hyper-V's are: the key holds the lower-case form.</summary>
    private static string Escape(string name) => Uri.EscapeDataString(name.ToLowerInvariant());
}
