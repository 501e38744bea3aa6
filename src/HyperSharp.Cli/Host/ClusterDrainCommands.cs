using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper cluster node suspend|resume` and `hyper cluster group move|set-owners|set-anti-affinity`: Suspend-ClusterNode
/// [-Drain], Resume-ClusterNode [-Failback], Move-ClusterVirtualMachineRole, Set-ClusterOwnerNode and a group's
/// AntiAffinityClassNames through a node's ClusterMaintenance service.
/// </summary>
internal static class ClusterDrainCommands
{
    public static void AddTo(CliContext context, Command node, Command group)
    {
        node.Subcommands.Add(Suspend(context));
        node.Subcommands.Add(Resume(context));
        group.Subcommands.Add(Move(context));
        group.Subcommands.Add(Placement(context, "set-owners", "--owner", "A preferred owner, most preferred first (repeatable; none clears the list)",
            "Set the nodes a failover or drain tries first (Set-ClusterOwnerNode)", (r, names) => { r.SetPreferredOwners = true; r.PreferredOwners.AddRange(names); }));
        group.Subcommands.Add(Placement(context, "set-anti-affinity", "--class", "An anti-affinity class name (repeatable; none clears them)",
            "Set the group's AntiAffinityClassNames: groups sharing one are kept on different nodes while others have room", (r, names) => { r.SetAntiAffinityClassNames = true; r.AntiAffinityClassNames.AddRange(names); }));
    }

    /// <summary>A group verb that replaces one of its placement lists with the option's values.</summary>
    private static Command Placement(CliContext context, string verb, string optionName, string optionDescription, string description, Action<SetClusterGroupPlacementRequest, string[]> set)
    {
        var name = new Argument<string>("name") { Description = "The group's name" };
        var values = new Option<string[]>(optionName) { Description = optionDescription, AllowMultipleArgumentsPerToken = true };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command(verb, description) { name, values, socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            var request = new SetClusterGroupPlacementRequest { Name = result.GetValue(name)! };
            set(request, result.GetValue(values) ?? []);
            var group = await client.SetClusterGroupPlacementAsync(request).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) { ClusterCommands.PrintGroups(context, [group], json: true); return 0; }
            context.Out.WriteLine($"{group.Name}: preferred owners [{string.Join(", ", group.PreferredOwners)}], anti-affinity classes [{string.Join(", ", group.AntiAffinityClassNames)}]");
            return 0;
        }));
        return command;
    }

    private static int Run(CliContext context, ParseResult result, Option<string?> socket, Func<ClusterMaintenance.ClusterMaintenanceClient, Task<int>> body) =>
        HostClient.Run(context, result.GetValue(socket), channel => new ClusterMaintenance.ClusterMaintenanceClient(channel), body);

    private static Option<int> WaitOption() => new("--wait") { Description = "Seconds to wait for the moves (default 600)" };

    private static Command Suspend(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The node's name" };
        var drain = new Option<bool>("--drain") { Description = "Move its clustered VMs to the other nodes by live migration, highest priority first" };
        var wait = WaitOption();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("suspend", "Pause a node: it takes no groups; with --drain its VMs move away (Suspend-ClusterNode)") { name, drain, wait, socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            var node = await client.SuspendClusterNodeAsync(new SuspendClusterNodeRequest { Name = result.GetValue(name)!, Drain = result.GetValue(drain), WaitSeconds = result.GetValue(wait) }).ResponseAsync.ConfigureAwait(false);
            return PrintNode(context, node, result.GetValue(json));
        }));
        return command;
    }

    private static Command Resume(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The node's name" };
        var failback = new Option<string>("--failback") { Description = "Immediate: move the groups its last drain sent away back now; NoFailback (the default): leave them" };
        var wait = WaitOption();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("resume", "Let a paused node take groups again (Resume-ClusterNode)") { name, failback, wait, socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            string mode = result.GetValue(failback) switch
            {
                null => "NoFailback",
                var f when f.Equals("immediate", StringComparison.OrdinalIgnoreCase) => "Immediate",
                var f when f.Equals("nofailback", StringComparison.OrdinalIgnoreCase) => "NoFailback",
                var f => throw new UsageException($"--failback {f}: give Immediate or NoFailback"),
            };
            var node = await client.ResumeClusterNodeAsync(new ResumeClusterNodeRequest { Name = result.GetValue(name)!, Failback = mode, WaitSeconds = result.GetValue(wait) }).ResponseAsync.ConfigureAwait(false);
            return PrintNode(context, node, result.GetValue(json));
        }));
        return command;
    }

    private static Command Move(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The group's (the VM's) name" };
        var to = new Option<string>("--node") { Description = "The node to move it to", Required = true };
        var type = new Option<string>("--migration-type") { Description = "Live (the default): the VM keeps running while it moves" };
        var wait = WaitOption();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("move", "Move a clustered VM to another node (Move-ClusterVirtualMachineRole)") { name, to, type, wait, socket, json };
        command.SetAction(result => Run(context, result, socket, async client =>
        {
            var group = await client.MoveClusterVmRoleAsync(new MoveClusterVmRoleRequest
            {
                Name = result.GetValue(name)!, Node = result.GetValue(to)!, MigrationType = result.GetValue(type) ?? "Live", WaitSeconds = result.GetValue(wait),
            }).ResponseAsync.ConfigureAwait(false);
            ClusterCommands.PrintGroups(context, [group], result.GetValue(json));
            return 0;
        }));
        return command;
    }

    /// <summary>The node's state and drain status; a drain that failed is a failed command, its error on stderr.</summary>
    private static int PrintNode(CliContext context, ClusterNodeInfo node, bool json)
    {
        if (json) context.Out.WriteLine(HostClient.ToJson(node));
        else context.Out.WriteLine($"{node.Name}: {node.State}, drain {node.DrainStatus}");
        if (node.DrainStatus != "Failed") return 0;
        context.Error.WriteLine($"hyper: the drain of node {node.Name} failed: {node.DrainError}");
        return CliAction.Failed;
    }
}
