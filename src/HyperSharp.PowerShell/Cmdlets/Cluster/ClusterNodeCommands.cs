using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Cluster;

[Cmdlet(VerbsCommon.Get, "ClusterNode")]
[OutputType(typeof(ClusterNode))]
[CmdletHelp("Gets the nodes of the failover cluster.",
    "Gets every node, or those whose names match -Name (wildcards allowed), with its State: Up while its heartbeat lease lives in etcd, Down after.")]
[CmdletExample("Get-ClusterNode | Where-Object State -eq Down", "Lists the nodes that are down.")]
public sealed class GetClusterNodeCommand : HyperSharpCmdlet
{
    [Parameter(Position = 0, HelpMessage = "The node's name; wildcards are allowed. All nodes when omitted.")]
    [SupportsWildcards]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        if (TryCall(c => ClusterClient.ListClusterNodes(new ListClusterNodesRequest { Name = Name ?? "" }, cancellationToken: c), Name, out var list))
            foreach (var node in list.Nodes) WriteObject(node.ToObject());
    }
}

[Cmdlet(VerbsCommon.Add, "ClusterNode")]
[OutputType(typeof(ClusterNode))]
[CmdletHelp("Adds a node to the failover cluster.",
    "Adds the node to the cluster's membership; its host joins (State Up) once it runs with the cluster's etcd and this --cluster-node name.")]
[CmdletExample("Add-ClusterNode -Name d", "Adds node d.")]
public sealed class AddClusterNodeCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, HelpMessage = "The new node's name.")]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
            if (TryCall(c => ClusterClient.AddClusterNode(new ClusterNodeRef { Name = name }, cancellationToken: c), name, out var node)) WriteObject(node.ToObject());
    }
}

[Cmdlet(VerbsCommon.Remove, "ClusterNode", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[CmdletHelp("Removes a node from the failover cluster.",
    "Removes the node from the membership. Refused while the node owns groups: stop its host (its groups fail over) or stop those groups first.")]
[CmdletExample("Remove-ClusterNode -Name d -Force", "Removes node d without asking.")]
public sealed class RemoveClusterNodeCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The node's name.")]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    [Parameter(HelpMessage = "Removes without asking for confirmation.")]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            if (!ShouldProcess(name, "Remove-ClusterNode")) continue;
            if (!Force && !ShouldContinue($"Remove node '{name}' from the cluster?", "Remove-ClusterNode")) continue;
            TryCall(c => ClusterClient.RemoveClusterNode(new ClusterNodeRef { Name = name }, cancellationToken: c), name, out _);
        }
    }
}
