using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Snapshot;

[Cmdlet("Checkpoint", "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(VMSnapshot))]
[CmdletHelp("Creates a checkpoint of a virtual machine.",
    "Freezes every hard disk of the virtual machine under a new checkpoint: each drive goes on in a new differencing disk (NAME_GUID.avhdx beside its image). The checkpoint type decides what is taken: Standard; Production, of a running VM whose VSS integration service is on and whose guest agent answers: its file systems frozen by the agent around the disk switch, no memory kept (restored, the VM is Off); else a standard checkpoint with a warning naming why; ProductionOnly, refused then; Disabled, refused.")]
[CmdletExample("Checkpoint-VM -Name web01 -SnapshotName 'before upgrade'", "Takes a checkpoint of web01 named 'before upgrade'.")]
[CmdletExample("Get-VM lab* | Checkpoint-VM -Passthru", "Takes a checkpoint of every lab VM, named as Hyper-V names them, and shows them.")]
public sealed class CheckpointVmCommand : VmTargetCmdlet
{
    [Parameter(Position = 1, HelpMessage = "The checkpoint's name; by default \"VMNAME - (M/d/yyyy - h:mm:ss tt)\", as Hyper-V names it.")]
    [Alias("CheckpointName")]
    [ValidateNotNullOrEmpty]
    public string? SnapshotName { get; set; }

    [Parameter(HelpMessage = "Writes the new checkpoint to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!ShouldProcess(vm.Name, "Checkpoint-VM")) return;
        var request = new CreateCheckpointRequest { Vm = Ref(vm), Name = SnapshotName ?? "" };
        if (!TryCall(c => VmHostClient.Checkpoints.CreateCheckpoint(request, cancellationToken: c), vm, out var taken)) return;
        WriteWarnings(vm.Name, taken.Warnings);
        if (Passthru) WriteObject(VMSnapshot.From(taken, HostName));
    }
}
