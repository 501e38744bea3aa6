using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Cluster;

[Cmdlet(VerbsCommon.Set, "ClusterOwnerNode")]
[OutputType(typeof(ClusterOwnerNodeList))]
[CmdletHelp("Sets the preferred owners of a cluster group.",
    "Failover and drain place the group on its preferred owners first, in the order given, while one has room (and holds no group of a shared anti-affinity class); any other node after them. An empty list clears it.")]
[CmdletExample("Set-ClusterOwnerNode -Group db -Owners b, c", "Group db goes to b, or c when b has no room, before any other node.")]
public sealed class SetClusterOwnerNodeCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The group's name.")]
    [Alias("Name")]
    [ValidateNotNullOrEmpty]
    public string[] Group { get; set; } = [];

    [Parameter(Mandatory = true, Position = 1, HelpMessage = "The nodes, most preferred first.")]
    [AllowEmptyCollection]
    public string[] Owners { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var name in Group)
        {
            var request = new SetClusterGroupPlacementRequest { Name = name, SetPreferredOwners = true, PreferredOwners = { Owners } };
            if (TryCall(c => ClusterMaintenanceClient.SetClusterGroupPlacement(request, cancellationToken: c), name, out var group)) WriteObject(group.ToOwnerList());
        }
    }
}

[Cmdlet(VerbsCommon.Get, "ClusterOwnerNode")]
[OutputType(typeof(ClusterOwnerNodeList))]
[CmdletHelp("Gets the preferred owners of a cluster group.", "Gets the group's preferred owners in order (OwnerNodes); empty when any node will do.")]
[CmdletExample("Get-ClusterOwnerNode -Group db", "Shows where group db goes first.")]
public sealed class GetClusterOwnerNodeCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The group's name.")]
    [Alias("Name")]
    [ValidateNotNullOrEmpty]
    public string[] Group { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var name in Group)
            if (TryCall(c => ClusterClient.ListClusterGroups(new ListClusterGroupsRequest { Name = name }, cancellationToken: c), name, out var list))
            {
                if (list.Groups.Count == 0) WriteError(new ErrorRecord(new ItemNotFoundException($"the cluster has no group named '{name}'"), "ClusterGroupNotFound", ErrorCategory.ObjectNotFound, name));
                foreach (var group in list.Groups) WriteObject(group.ToOwnerList());
            }
    }
}
