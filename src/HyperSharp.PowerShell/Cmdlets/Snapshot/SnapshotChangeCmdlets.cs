using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Snapshot;

/// <summary>A checkpoint cmdlet that changes checkpoints: they come by -VMName and -Name, or as objects through -VMSnapshot or the pipeline.</summary>
public abstract class VmSnapshotChangeCmdlet : VmSnapshotCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = SnapshotSet, ValueFromPipeline = true, HelpMessage = "The checkpoint, as Get-VMSnapshot returns it (from the pipeline too).")]
    [ValidateNotNull]
    public VMSnapshot[] VMSnapshot { get; set; } = [];

    protected override VMSnapshot[] SnapshotObjects => VMSnapshot;
}

[Cmdlet(VerbsData.Restore, "VMSnapshot", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[Alias("Restore-VMCheckpoint")]
[OutputType(typeof(VMSnapshot))]
[CmdletHelp("Restores a virtual machine to a checkpoint.",
    "Discards the virtual machine's current state (a running VM is turned off, a saved state deleted) and puts it back to the checkpoint: its settings and a new differencing disk over each of the checkpoint's disks. New checkpoints then branch from there.")]
[CmdletExample("Restore-VMSnapshot -VMName web01 -Name 'before upgrade' -Confirm:$false", "Takes web01 back to the checkpoint 'before upgrade'.")]
public sealed class RestoreVmSnapshotCommand : VmSnapshotChangeCmdlet
{
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = VMNameSet, HelpMessage = "The name of the checkpoint.")]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = VMObjectSet)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(HelpMessage = "Writes the restored checkpoint to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override string[]? SnapshotNames => [Name];

    protected override void ProcessSnapshot(VMSnapshot snapshot)
    {
        if (!ShouldProcess($"{snapshot.VMName}: {snapshot.Name}", "Restore-VMSnapshot (the VM's current state is discarded)")) return;
        if (!TryCall(c => VmHostClient.Checkpoints.RestoreCheckpoint(snapshot.ToRef(), cancellationToken: c), snapshot, out var vm)) return;
        WriteWarnings(snapshot.VMName, vm.Warnings);
        if (Passthru) WriteObject(snapshot);
    }
}

[Cmdlet(VerbsCommon.Remove, "VMSnapshot", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[Alias("Remove-VMCheckpoint")]
[CmdletHelp("Removes checkpoints of a virtual machine.",
    "Removes each checkpoint from its virtual machine's tree (its children move up to its parent) and merges its differencing disk into the one disk that still needs it, so no other checkpoint and not the current state loses data. With -IncludeAllChildSnapshots the checkpoints below it go too.")]
[CmdletExample("Remove-VMSnapshot -VMName web01 -Name 'before upgrade'", "Removes the checkpoint 'before upgrade' of web01.")]
[CmdletExample("Get-VMSnapshot -VMName lab | Remove-VMSnapshot -Confirm:$false", "Removes every checkpoint of lab.")]
public sealed class RemoveVmSnapshotCommand : VmSnapshotChangeCmdlet
{
    [Parameter(Position = 1, ParameterSetName = VMNameSet, HelpMessage = "The name of the checkpoint; wildcards are allowed. Without it, every checkpoint of the virtual machine.")]
    [Parameter(Position = 1, ParameterSetName = VMObjectSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    [Parameter(HelpMessage = "Removes the checkpoints below each checkpoint too.")]
    public SwitchParameter IncludeAllChildSnapshots { get; set; }

    [Parameter(HelpMessage = "Writes the removed checkpoints to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override string[]? SnapshotNames => Name;

    protected override void ProcessSnapshot(VMSnapshot snapshot)
    {
        if (!ShouldProcess($"{snapshot.VMName}: {snapshot.Name}", "Remove-VMSnapshot")) return;
        var request = new RemoveCheckpointRequest { Checkpoint = snapshot.ToRef(), IncludeChildren = IncludeAllChildSnapshots };
        if (!TryCall(c => VmHostClient.Checkpoints.RemoveCheckpoint(request, cancellationToken: c), snapshot, out var removed)) return;
        WriteWarnings(snapshot.VMName, removed.Warnings);
        if (Passthru) WriteObject(snapshot);
    }
}

[Cmdlet(VerbsCommon.Rename, "VMSnapshot", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[Alias("Rename-VMCheckpoint")]
[OutputType(typeof(VMSnapshot))]
[CmdletHelp("Renames a checkpoint.", "Gives a checkpoint a new name, unique among its virtual machine's checkpoints.")]
[CmdletExample("Rename-VMSnapshot -VMName web01 -Name 'web01 - (12/7/2026 - 3:20:47 PM)' -NewName 'before upgrade'", "Renames a checkpoint that has Hyper-V's default name.")]
public sealed class RenameVmSnapshotCommand : VmSnapshotChangeCmdlet
{
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = VMNameSet, HelpMessage = "The name of the checkpoint.")]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = VMObjectSet)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 2, HelpMessage = "The checkpoint's new name.")]
    [ValidateNotNullOrEmpty]
    public string NewName { get; set; } = "";

    [Parameter(HelpMessage = "Writes the renamed checkpoint to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override string[]? SnapshotNames => [Name];

    protected override void ProcessSnapshot(VMSnapshot snapshot)
    {
        if (!ShouldProcess($"{snapshot.VMName}: {snapshot.Name}", $"Rename-VMSnapshot to '{NewName}'")) return;
        var request = new RenameCheckpointRequest { Checkpoint = snapshot.ToRef(), NewName = NewName };
        if (!TryCall(c => VmHostClient.Checkpoints.RenameCheckpoint(request, cancellationToken: c), snapshot, out var renamed)) return;
        if (Passthru) WriteObject(PowerShell.VMSnapshot.From(renamed, HostName));
    }
}
