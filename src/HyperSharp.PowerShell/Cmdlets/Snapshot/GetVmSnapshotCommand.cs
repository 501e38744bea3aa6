using System.Management.Automation;

namespace HyperSharp.PowerShell.Cmdlets.Snapshot;

[Cmdlet(VerbsCommon.Get, "VMSnapshot", DefaultParameterSetName = VMNameSet)]
[Alias("Get-VMCheckpoint")]
[OutputType(typeof(VMSnapshot))]
[CmdletHelp("Gets the checkpoints of virtual machines.",
    "Gets each virtual machine's checkpoints, oldest first, optionally only those whose names match -Name (wildcards allowed) or of one -SnapshotType; or the parent (-ParentOf) or the children (-ChildOf) of a checkpoint in its tree.")]
[CmdletExample("Get-VMSnapshot -VMName web01", "Lists web01's checkpoints with their parents and creation times.")]
[CmdletExample("Get-VMSnapshot -VMName web01 -Name base | ForEach-Object { Get-VMSnapshot -ChildOf $_ }", "Lists the checkpoints taken under 'base'.")]
public sealed class GetVmSnapshotCommand : VmSnapshotCmdlet
{
    private const string ParentOfSet = "ParentOf", ChildOfSet = "ChildOf";

    [Parameter(Position = 1, ParameterSetName = VMNameSet, HelpMessage = "Only checkpoints with this name; wildcards are allowed.")]
    [Parameter(Position = 1, ParameterSetName = VMObjectSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Name { get; set; }

    [Parameter(ParameterSetName = VMNameSet, HelpMessage = "Only checkpoints of this type: Standard or Production.")]
    [Parameter(ParameterSetName = VMObjectSet)]
    public SnapshotType? SnapshotType { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = ParentOfSet, ValueFromPipeline = true, HelpMessage = "Gets the parent of this checkpoint (nothing for a checkpoint at the root).")]
    [ValidateNotNull]
    public VMSnapshot? ParentOf { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = ChildOfSet, ValueFromPipeline = true, HelpMessage = "Gets the checkpoints taken directly under this one.")]
    [ValidateNotNull]
    public VMSnapshot? ChildOf { get; set; }

    protected override string[]? SnapshotNames => Name is null ? null : [Name];

    protected override void ProcessRecord()
    {
        var related = ParameterSetName switch { ParentOfSet => ParentOf, ChildOfSet => ChildOf, _ => null };
        if (related is null)
        {
            base.ProcessRecord();
            return;
        }
        foreach (var snapshot in Snapshots(related.VMId, related.VMName, null))
            if (ParameterSetName == ParentOfSet ? snapshot.Id == related.ParentSnapshotId : snapshot.ParentSnapshotId == related.Id)
                WriteObject(snapshot);
    }

    protected override void ProcessSnapshot(VMSnapshot snapshot)
    {
        if (SnapshotType is null || snapshot.SnapshotType == SnapshotType) WriteObject(snapshot);
    }
}
