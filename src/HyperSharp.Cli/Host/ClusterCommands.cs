using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper cluster new|show|node ...|group ...`: New-Cluster, Get-Cluster, Add-/Remove-/Get-ClusterNode,
/// Add-ClusterVirtualMachineRole, Get-/Set-/Start-/Stop-ClusterGroup through a node's host service.
/// </summary>
internal static class ClusterCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("cluster", "The failover cluster this host is a node of (hyper host --cluster-etcd)");
        command.Subcommands.Add(New(context));
        command.Subcommands.Add(Show(context));
        var node = new Command("node", "The cluster's nodes");
        node.Subcommands.Add(NodeList(context));
        node.Subcommands.Add(NodeChange(context, "add", "Add a node (Add-ClusterNode): its host joins once it runs with the cluster's etcd", (c, n) => c.AddClusterNodeAsync(n).ResponseAsync));
        node.Subcommands.Add(NodeChange(context, "remove", "Remove a node (Remove-ClusterNode); refused while it owns groups", async (c, n) => { await c.RemoveClusterNodeAsync(n).ResponseAsync.ConfigureAwait(false); return null; }));
        command.Subcommands.Add(node);
        var group = new Command("group", "The clustered VM roles (cluster groups)");
        group.Subcommands.Add(GroupAdd(context));
        group.Subcommands.Add(GroupList(context));
        group.Subcommands.Add(GroupSet(context));
        group.Subcommands.Add(GroupPower(context, "start", "Bring a group online and wait until it runs (Start-ClusterGroup)", (c, r) => c.StartClusterGroupAsync(r).ResponseAsync));
        group.Subcommands.Add(GroupPower(context, "stop", "Take a group offline: its VM is turned off (Stop-ClusterGroup)", (c, r) => c.StopClusterGroupAsync(r).ResponseAsync));
        command.Subcommands.Add(group);
        ClusterDrainCommands.AddTo(context, node, group);
        return command;
    }

    private static int Run(CliContext context, ParseResult result, Option<string?> socket, Func<FailoverCluster.FailoverClusterClient, Task<int>> body) =>
        HostClient.Run(context, result.GetValue(socket), channel => new FailoverCluster.FailoverClusterClient(channel), body);

    private static Command New(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The cluster's name" };
        var nodes = new Option<string[]>("--node") { Description = "A node's name, as its host's --cluster-node says (repeatable)", Required = true, AllowMultipleArgumentsPerToken = true };
        var delay = new Option<int>("--same-subnet-delay") { Description = "Milliseconds between heartbeats (default 1000)" };
        var threshold = new Option<int>("--same-subnet-threshold") { Description = "Heartbeats missed before a node is down (default 10)" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("new", "Create the cluster in etcd with its first nodes (New-Cluster)") { name, nodes, delay, threshold, socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            var request = new NewClusterRequest { Name = result.GetValue(name)!, SameSubnetDelayMs = result.GetValue(delay), SameSubnetThreshold = result.GetValue(threshold) };
            request.Nodes.AddRange(result.GetValue(nodes)!);
            Print(context, await client.NewClusterAsync(request).ResponseAsync.ConfigureAwait(false), result.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static Command Show(CliContext context)
    {
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("show", "Show the cluster (Get-Cluster)") { socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            Print(context, await client.GetClusterAsync(new GetClusterRequest()).ResponseAsync.ConfigureAwait(false), result.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static void Print(CliContext context, ClusterInfo info, bool json)
    {
        if (json) { context.Out.WriteLine(HostClient.ToJson(info)); return; }
        context.Out.WriteLine($"Name:                  {info.Name}");
        context.Out.WriteLine($"ClusterFunctionalLevel: {info.ClusterFunctionalLevel}");
        context.Out.WriteLine($"SameSubnetDelay:       {info.SameSubnetDelayMs} ms");
        context.Out.WriteLine($"SameSubnetThreshold:   {info.SameSubnetThreshold}");
        context.Out.WriteLine($"This node:             {info.ThisNode}");
        context.Out.WriteLine($"etcd:                  {string.Join(", ", info.EtcdEndpoints)}");
    }

    private static Command NodeList(CliContext context)
    {
        var filter = new Argument<string?>("name") { Description = "Only nodes whose name matches (* and ? wildcards)", Arity = ArgumentArity.ZeroOrOne };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("list", "List the nodes and their state (Get-ClusterNode)") { filter, socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            var response = await client.ListClusterNodesAsync(new ListClusterNodesRequest { Name = result.GetValue(filter) ?? "" }).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) { context.Out.WriteLine(HostClient.ToJson(response)); return 0; }
            context.Out.WriteLine($"{"Name",-20} {"State",-8} {"Id",4}");
            foreach (var n in response.Nodes) context.Out.WriteLine($"{n.Name,-20} {n.State,-8} {n.Id,4}");
            return 0;
        }));
        return command;
    }

    private static Command NodeChange(CliContext context, string verb, string description, Func<FailoverCluster.FailoverClusterClient, ClusterNodeRef, Task<ClusterNodeInfo?>> call)
    {
        var name = new Argument<string>("name") { Description = "The node's name" };
        var socket = HostClient.SocketOption();
        var command = new Command(verb, description) { name, socket };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            await call(client, new ClusterNodeRef { Name = result.GetValue(name)! }).ConfigureAwait(false);
            context.Out.WriteLine($"{result.GetValue(name)}: {(verb == "add" ? "added" : "removed")}");
            return 0;
        }));
        return command;
    }

    private static Option<string?> PriorityOption() =>
        new("--priority") { Description = "High (3000), Medium (2000, the default), Low (1000) or NoAutoStart (0)" };

    /// <summary>Hyper-V's priority by name or number; anything else is a usage error naming the four.</summary>
    private static int Priority(string text) => text.ToLowerInvariant() switch
    {
        "high" or "3000" => 3000,
        "medium" or "2000" => 2000,
        "low" or "1000" => 1000,
        "noautostart" or "0" => 0,
        _ => throw new UsageException($"--priority {text}: give High (3000), Medium (2000), Low (1000) or NoAutoStart (0)"),
    };

    private static Command GroupAdd(CliContext context) => GroupWithPriority(context, "add", "Make a VM of this host a clustered role (Add-ClusterVirtualMachineRole)",
        "A VM of this host whose folder is on the shared storage", (client, name, priority) =>
        {
            var request = new AddClusterVmRoleRequest { VmName = name };
            if (priority is { } p) request.Priority = p;
            return client.AddClusterVmRoleAsync(request).ResponseAsync;
        });

    private static Command GroupSet(CliContext context) => GroupWithPriority(context, "set", "Change a group's settings (Set-ClusterGroup)",
        "The group's name", (client, name, priority) =>
        {
            var request = new SetClusterGroupRequest { Name = name };
            if (priority is { } p) request.Priority = p;
            return client.SetClusterGroupAsync(request).ResponseAsync;
        });

    /// <summary>A group verb that takes a name and an optional --priority and answers with the group.</summary>
    private static Command GroupWithPriority(CliContext context, string verb, string description, string nameDescription,
        Func<FailoverCluster.FailoverClusterClient, string, int?, Task<ClusterGroup>> call)
    {
        var name = new Argument<string>("name") { Description = nameDescription };
        var priority = PriorityOption();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command(verb, description) { name, priority, socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            int? value = result.GetValue(priority) is { } p ? Priority(p) : null;
            PrintGroups(context, [await call(client, result.GetValue(name)!, value).ConfigureAwait(false)], result.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static Command GroupList(CliContext context)
    {
        var filter = new Argument<string?>("name") { Description = "Only groups whose name matches (* and ? wildcards)", Arity = ArgumentArity.ZeroOrOne };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("list", "List the groups: owner node, state, priority (Get-ClusterGroup)") { filter, socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            var response = await client.ListClusterGroupsAsync(new ListClusterGroupsRequest { Name = result.GetValue(filter) ?? "" }).ResponseAsync.ConfigureAwait(false);
            PrintGroups(context, response.Groups, result.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static Command GroupPower(CliContext context, string verb, string description, Func<FailoverCluster.FailoverClusterClient, ClusterGroupRequest, Task<ClusterGroup>> call)
    {
        var name = new Argument<string>("name") { Description = "The group's name" };
        var wait = new Option<int>("--wait") { Description = "Seconds to wait for it (default 120)" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command(verb, description) { name, wait, socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            var group = await call(client, new ClusterGroupRequest { Name = result.GetValue(name)!, WaitSeconds = result.GetValue(wait) }).ConfigureAwait(false);
            PrintGroups(context, [group], result.GetValue(json));
            return group.State == "Failed" ? CliAction.Failed : 0;
        }));
        return command;
    }

    internal static void PrintGroups(CliContext context, IEnumerable<ClusterGroup> groups, bool json)
    {
        if (json)
        {
            var list = new ListClusterGroupsResponse();
            list.Groups.AddRange(groups);
            context.Out.WriteLine(HostClient.ToJson(list));
            return;
        }
        context.Out.WriteLine($"{"Name",-20} {"OwnerNode",-12} {"State",-8} {"Priority",8}");
        foreach (var g in groups)
            context.Out.WriteLine($"{g.Name,-20} {g.OwnerNode,-12} {g.State,-8} {g.Priority,8}{(g.Error.Length > 0 ? $"  ({g.Error})" : "")}");
    }
}
