using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Cluster;

[Cmdlet(VerbsCommon.Add, "ClusterVirtualMachineRole")]
[OutputType(typeof(ClusterGroup))]
[CmdletHelp("Makes a virtual machine highly available.",
    "Makes a VM of the host this runs against a clustered role (a cluster group named after the VM) owned by that host's node. The VM's folder must be on storage every node sees (New-VM -Path on it): when the owner fails, another node registers the VM from that folder and starts it.")]
[CmdletExample("Add-ClusterVirtualMachineRole -VMName db -Priority 3000", "Clusters VM db with High priority: after a failure it starts before Medium and Low groups.")]
public sealed class AddClusterVirtualMachineRoleCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The name of the virtual machine.")]
    [Alias("Name")]
    [ValidateNotNullOrEmpty]
    public string[] VMName { get; set; } = [];

    [Parameter(HelpMessage = "The start priority: 3000 High, 2000 Medium (the default), 1000 Low, 0 No Auto Start.")]
    [ValidateSet("3000", "2000", "1000", "0")]
    public uint? Priority { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in VMName)
        {
            var request = new AddClusterVmRoleRequest { VmName = name };
            if (Priority is { } p) request.Priority = (int)p;
            if (TryCall(c => ClusterClient.AddClusterVmRole(request, cancellationToken: c), name, out var group)) WriteObject(group.ToObject());
        }
    }
}

[Cmdlet(VerbsCommon.Get, "ClusterGroup")]
[OutputType(typeof(ClusterGroup))]
[CmdletHelp("Gets the groups (clustered roles) of the failover cluster.",
    "Gets every group, or those whose names match -Name (wildcards allowed): its OwnerNode, State (Online, Offline, Pending, Failed) and Priority.")]
[CmdletExample("Get-ClusterGroup | Sort-Object Priority -Descending", "Lists the groups in the order a failover starts them.")]
public sealed class GetClusterGroupCommand : HyperSharpCmdlet
{
    [Parameter(Position = 0, HelpMessage = "The group's name; wildcards are allowed. All groups when omitted.")]
    [SupportsWildcards]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        if (TryCall(c => ClusterClient.ListClusterGroups(new ListClusterGroupsRequest { Name = Name ?? "" }, cancellationToken: c), Name, out var list))
            foreach (var group in list.Groups) WriteObject(group.ToObject());
    }
}

/// <summary>
/// A HyperSharp cmdlet (Windows sets the property on the object: (Get-ClusterGroup X).Priority = 3000, which a module
/// whose objects are snapshots of a remote service cannot write back): sets a group's priority.
/// </summary>
[Cmdlet(VerbsCommon.Set, "ClusterGroup")]
[OutputType(typeof(ClusterGroup))]
[CmdletHelp("Changes a cluster group's settings.",
    "Sets the group's start Priority (3000 High, 2000 Medium, 1000 Low, 0 No Auto Start) and its AntiAffinityClassNames (groups sharing a name are kept on different nodes while others have room). On Windows the same is done by assigning (Get-ClusterGroup X).Priority or .AntiAffinityClassNames; HyperSharp's objects are read-only snapshots, so this cmdlet does it.")]
[CmdletExample("Get-ClusterGroup db | Set-ClusterGroup -Priority 3000", "Gives group db High priority.")]
public sealed class SetClusterGroupCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The group's name.")]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    [Parameter(HelpMessage = "The start priority: 3000 High, 2000 Medium, 1000 Low, 0 No Auto Start.")]
    [ValidateSet("3000", "2000", "1000", "0")]
    public uint? Priority { get; set; }

    [Parameter(HelpMessage = "The group's anti-affinity class names (an empty list clears them).")]
    [AllowEmptyCollection]
    public string[]? AntiAffinityClassNames { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            var request = new SetClusterGroupRequest { Name = name };
            if (Priority is { } p) request.Priority = (int)p;
            if (!TryCall(c => ClusterClient.SetClusterGroup(request, cancellationToken: c), name, out var group)) continue;
            if (AntiAffinityClassNames is { } classes)
            {
                var placement = new SetClusterGroupPlacementRequest { Name = name, SetAntiAffinityClassNames = true, AntiAffinityClassNames = { classes } };
                if (!TryCall(c => ClusterMaintenanceClient.SetClusterGroupPlacement(placement, cancellationToken: c), name, out var placed)) continue;
                group = placed;
            }
            WriteObject(group.ToObject());
        }
    }
}

/// <summary>Start- and Stop-ClusterGroup: the group's wanted state set, then its state once it got there (or -Wait ran out).</summary>
public abstract class ClusterGroupPowerCmdlet : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The group's name.")]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    [Parameter(HelpMessage = "Seconds to wait for the group to get there (default 120).")]
    [ValidateRange(1, 3600)]
    public int Wait { get; set; }

    protected abstract ClusterGroup? Call(ClusterGroupRequest request);

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
            if (Call(new ClusterGroupRequest { Name = name, WaitSeconds = Wait }) is { } group) WriteObject(group);
    }

    protected ClusterGroup? Run(Func<ClusterGroupRequest, CancellationToken, Api.V1.ClusterGroup> call, ClusterGroupRequest request) =>
        TryCall(c => call(request, c), request.Name, out var group) ? group.ToObject() : null;
}

[Cmdlet(VerbsLifecycle.Start, "ClusterGroup")]
[OutputType(typeof(ClusterGroup))]
[CmdletHelp("Brings a cluster group online.",
    "Marks the group to run and waits until it is Online (or Failed). A group no node owns (No Auto Start after its owner failed) is started on the node that serves the call.")]
[CmdletExample("Start-ClusterGroup db", "Starts group db and shows where it runs.")]
public sealed class StartClusterGroupCommand : ClusterGroupPowerCmdlet
{
    protected override ClusterGroup? Call(ClusterGroupRequest request) => Run((r, c) => ClusterClient.StartClusterGroup(r, cancellationToken: c), request);
}

[Cmdlet(VerbsLifecycle.Stop, "ClusterGroup")]
[OutputType(typeof(ClusterGroup))]
[CmdletHelp("Takes a cluster group offline.",
    "Marks the group not to run; its owner turns the VM off, and the group stays Offline (no failover starts it) until Start-ClusterGroup.")]
[CmdletExample("Stop-ClusterGroup db", "Turns off group db's VM and keeps it off.")]
public sealed class StopClusterGroupCommand : ClusterGroupPowerCmdlet
{
    protected override ClusterGroup? Call(ClusterGroupRequest request) => Run((r, c) => ClusterClient.StopClusterGroup(r, cancellationToken: c), request);
}
