using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Cluster;

[Cmdlet(VerbsLifecycle.Suspend, "ClusterNode")]
[OutputType(typeof(ClusterNode))]
[CmdletHelp("Pauses a cluster node, and with -Drain moves its clustered VMs to the other nodes.",
    "The node goes Paused: no failover, drain or move places a group on it. With -Drain its groups move to the other Up nodes by live migration, highest priority first, each to the node with the most free memory; the cmdlet returns once the drain has ended. A group that cannot move stays, and the node's DrainStatus is Failed with DrainError naming it.")]
[CmdletExample("Suspend-ClusterNode -Name a -Drain", "Empties node a for maintenance; its VMs keep running on the other nodes.")]
public sealed class SuspendClusterNodeCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The node's name.")]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    [Parameter(HelpMessage = "Move the node's clustered VMs to the other nodes by live migration.")]
    public SwitchParameter Drain { get; set; }

    [Parameter(HelpMessage = "Seconds to wait for the drain to end (default 600).")]
    [ValidateRange(1, 3600)]
    public int Wait { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
            if (TryCall(c => ClusterMaintenanceClient.SuspendClusterNode(new SuspendClusterNodeRequest { Name = name, Drain = Drain, WaitSeconds = Wait }, cancellationToken: c), name, out var node))
                WriteObject(node.ToObject());
    }
}

[Cmdlet(VerbsLifecycle.Resume, "ClusterNode")]
[OutputType(typeof(ClusterNode))]
[CmdletHelp("Resumes a paused cluster node.",
    "The node takes groups again. With -Failback Immediate the groups its last drain moved away come back to it by live migration (those still Online elsewhere); with NoFailback (the default) they stay where they are.")]
[CmdletExample("Resume-ClusterNode -Name a -Failback Immediate", "Brings node a back after maintenance with the VMs it ran before.")]
public sealed class ResumeClusterNodeCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The node's name.")]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    [Parameter(HelpMessage = "Immediate: move the drained groups back now; NoFailback (the default): leave them.")]
    [ValidateSet("Immediate", "NoFailback")]
    public string Failback { get; set; } = "NoFailback";

    [Parameter(HelpMessage = "Seconds to wait for the failback (default 600).")]
    [ValidateRange(1, 3600)]
    public int Wait { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
            if (TryCall(c => ClusterMaintenanceClient.ResumeClusterNode(new ResumeClusterNodeRequest { Name = name, Failback = Failback, WaitSeconds = Wait }, cancellationToken: c), name, out var node))
                WriteObject(node.ToObject());
    }
}

[Cmdlet(VerbsCommon.Move, "ClusterVirtualMachineRole")]
[OutputType(typeof(ClusterGroup))]
[CmdletHelp("Moves a clustered VM to another node.",
    "The group's owner live-migrates the VM to -Node (an Up node that is not Paused); the group's owner changes once that node owns the VM, and the cmdlet returns the group as it runs there. -MigrationType Quick (save, move, restore) is not offered yet.")]
[CmdletExample("Move-ClusterVirtualMachineRole -Name db -Node b -MigrationType Live", "Moves VM db to node b while it keeps running.")]
public sealed class MoveClusterVirtualMachineRoleCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The group's (the VM's) name.")]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, Position = 1, HelpMessage = "The node to move it to.")]
    [ValidateNotNullOrEmpty]
    public string Node { get; set; } = "";

    [Parameter(HelpMessage = "Live (the default): the VM keeps running while it moves.")]
    [ValidateSet("Live", "Quick")]
    public string MigrationType { get; set; } = "Live";

    [Parameter(HelpMessage = "Seconds to wait for the move (default 600).")]
    [ValidateRange(1, 3600)]
    public int Wait { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
            if (TryCall(c => ClusterMaintenanceClient.MoveClusterVmRole(new MoveClusterVmRoleRequest { Name = name, Node = Node, MigrationType = MigrationType, WaitSeconds = Wait }, cancellationToken: c), name, out var group))
                WriteObject(group.ToObject());
    }
}
