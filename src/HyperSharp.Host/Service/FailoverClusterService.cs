using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Cluster;
using HyperSharp.Host.Cluster;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>The FailoverCluster gRPC service: the cluster's records through this node's catalog, cluster errors as gRPC statuses.</summary>
public sealed class FailoverClusterService(ClusterAccess access, VmManager manager) : FailoverCluster.FailoverClusterBase
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(120);

    public override Task<ClusterInfo> NewCluster(NewClusterRequest request, ServerCallContext context) => Run(async cluster =>
        Info(cluster, await cluster.Catalog.CreateAsync(request.Name, [.. request.Nodes],
            request.SameSubnetDelayMs == 0 ? null : request.SameSubnetDelayMs, request.SameSubnetThreshold == 0 ? null : request.SameSubnetThreshold).ConfigureAwait(false)));

    public override Task<ClusterInfo> GetCluster(GetClusterRequest request, ServerCallContext context) => Run(async cluster =>
        Info(cluster, (await cluster.Catalog.RequireClusterAsync().ConfigureAwait(false)).Cluster!));

    public override Task<ClusterNodeInfo> AddClusterNode(ClusterNodeRef request, ServerCallContext context) => Run(async cluster =>
        Node(await cluster.Catalog.AddNodeAsync(request.Name).ConfigureAwait(false), null));

    public override Task<RemoveClusterNodeResponse> RemoveClusterNode(ClusterNodeRef request, ServerCallContext context) => Run(async cluster =>
    {
        await cluster.Catalog.RemoveNodeAsync(request.Name).ConfigureAwait(false);
        return new RemoveClusterNodeResponse();
    });

    public override Task<ListClusterNodesResponse> ListClusterNodes(ListClusterNodesRequest request, ServerCallContext context) => Run(async cluster =>
    {
        var snapshot = await cluster.Catalog.RequireClusterAsync().ConfigureAwait(false);
        var response = new ListClusterNodesResponse();
        response.Nodes.AddRange(snapshot.Nodes.Where(n => string.IsNullOrEmpty(request.Name) || Wildcard.Matches(request.Name, n.Name)).Select(n => Node(n, snapshot)));
        return response;
    });

    public override Task<ClusterGroup> AddClusterVmRole(AddClusterVmRoleRequest request, ServerCallContext context) => Run(async cluster =>
    {
        var vm = manager.Find(new VmRef { Name = request.VmName });
        string folder = vm.Folder.Location;
        if (folder == vm.Folder.Path)
            throw HostErrors.Precondition($"VM '{vm.Name}' lives in this host's own inventory ({folder}): a clustered VM's folder must be on storage every node sees (create it with New-VM -Path on that storage)");
        var group = new GroupRecord
        {
            Name = vm.Name, VmId = vm.Id, VmFolder = folder, MemoryBytes = vm.Config.Memory.StartupBytes,
            Priority = request.HasPriority ? GroupPriority.Check(request.Priority) : GroupPriority.Medium,
            Online = vm.State is not (PowerState.Off or PowerState.Saved),
        };
        await cluster.Catalog.AddGroupAsync(group, cluster.Node.Name, cluster.Node.LeaseId).ConfigureAwait(false);
        // As Hyper-V does for a highly available VM: only the cluster starts it, never a host's own automatic start
        // (a node back after a failure would otherwise start a VM that already runs on the node that took it over).
        manager.Configuration.Update(vm, new Domain.VmSettingsChange { AutomaticStartAction = AutomaticStartAction.Nothing }, ClientIdentities.Of(context));
        return await GroupAsync(cluster, vm.Name).ConfigureAwait(false);
    });

    public override Task<ListClusterGroupsResponse> ListClusterGroups(ListClusterGroupsRequest request, ServerCallContext context) => Run(async cluster =>
    {
        var snapshot = await cluster.Catalog.RequireClusterAsync().ConfigureAwait(false);
        var response = new ListClusterGroupsResponse();
        response.Groups.AddRange(snapshot.Groups.Where(g => string.IsNullOrEmpty(request.Name) || Wildcard.Matches(request.Name, g.Record.Name)).Select(Group));
        return response;
    });

    public override Task<ClusterGroup> SetClusterGroup(SetClusterGroupRequest request, ServerCallContext context) => Run(async cluster =>
    {
        if (request.HasPriority) GroupPriority.Check(request.Priority);
        await cluster.Catalog.UpdateGroupAsync(request.Name, g => request.HasPriority ? g with { Priority = request.Priority } : g).ConfigureAwait(false);
        return await GroupAsync(cluster, request.Name).ConfigureAwait(false);
    });

    public override Task<ClusterGroup> StartClusterGroup(ClusterGroupRequest request, ServerCallContext context) => Run(async cluster =>
    {
        await cluster.Catalog.StartGroupAsync(request.Name, cluster.Node.Name, cluster.Node.LeaseId).ConfigureAwait(false);
        return Group(await cluster.Catalog.WaitForGroupAsync(request.Name, g => g.State is GroupState.Online or GroupState.Failed, Wait(request)).ConfigureAwait(false));
    });

    public override Task<ClusterGroup> StopClusterGroup(ClusterGroupRequest request, ServerCallContext context) => Run(async cluster =>
    {
        await cluster.Catalog.UpdateGroupAsync(request.Name, g => g with { Online = false }).ConfigureAwait(false);
        return Group(await cluster.Catalog.WaitForGroupAsync(request.Name, g => g.State is GroupState.Offline, Wait(request)).ConfigureAwait(false));
    });

    private static TimeSpan Wait(ClusterGroupRequest request) => request.WaitSeconds == 0 ? DefaultWait
        : TimeSpan.FromSeconds(RequestValidation.Range("wait_seconds", request.WaitSeconds, 1, 3600, "the wait in seconds"));

    private static async Task<ClusterGroup> GroupAsync(HostCluster cluster, string name) =>
        Group((await cluster.Catalog.ReadAsync().ConfigureAwait(false)).Group(name) ?? throw HostErrors.NotFound($"the cluster has no group named '{name}'"));

    internal static ClusterGroup Group(GroupView g) => new()
    {
        PreferredOwners = { g.Record.PreferredOwners }, AntiAffinityClassNames = { g.Record.AntiAffinityClassNames },
        Name = g.Record.Name, OwnerNode = g.Owner ?? "", State = g.State.ToString(), Priority = g.Record.Priority,
        VmId = g.Record.VmId.ToString("D"), VmFolder = g.Record.VmFolder,
        StateChangedUnixMs = g.CurrentStatus?.ChangedUnixMs ?? 0, Error = g.CurrentStatus?.Error ?? "",
    };

    internal static ClusterNodeInfo Node(NodeRecord node, ClusterSnapshot? snapshot) => new()
    {
        Name = node.Name, Id = node.Id, State = (snapshot?.StateOf(node) ?? NodeState.Down).ToString(),
        DrainStatus = node.DrainStatus.ToString(), DrainError = node.DrainError ?? "",
        FreeMemoryBytes = snapshot is not null && snapshot.Alive.TryGetValue(node.Name, out var beat) ? beat.FreeMemoryBytes : 0,
    };

    private static ClusterInfo Info(HostCluster cluster, ClusterRecord record)
    {
        var info = new ClusterInfo
        {
            Name = record.Name, ClusterFunctionalLevel = record.FunctionalLevel, SameSubnetDelayMs = record.SameSubnetDelayMs,
            SameSubnetThreshold = record.SameSubnetThreshold, ThisNode = cluster.Node.Name,
        };
        info.EtcdEndpoints.AddRange(cluster.Store.Endpoints);
        return info;
    }

    private Task<T> Run<T>(Func<HostCluster, Task<T>> call) => Run(access, call);

    /// <summary>The call on this host's cluster, a <see cref="ClusterException"/> turned into the status it means.</summary>
    internal static async Task<T> Run<T>(ClusterAccess access, Func<HostCluster, Task<T>> call)
    {
        var cluster = access.Required;
        try { return await call(cluster).ConfigureAwait(false); }
        catch (ClusterException e) { throw e.NotFound ? HostErrors.NotFound(e.Message) : HostErrors.Precondition(e.Message); }
    }
}
