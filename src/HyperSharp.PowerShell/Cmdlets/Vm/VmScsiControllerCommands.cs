using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.Add, "VMScsiController", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMScsiController))]
[CmdletHelp("Adds a SCSI controller to a virtual machine.",
    "Adds a SCSI controller (a virtio-scsi device with 64 locations) to each virtual machine, numbered after its last one. A virtual machine has up to 4; it must be Off, because its controllers are devices placed when it starts.")]
[CmdletExample("Add-VMScsiController -VMName db01", "Gives db01 one more SCSI controller.")]
[CmdletExample("Add-VMScsiController db01; Add-VMHardDiskDrive db01 -ControllerNumber 1 -Path ./logs.vhdx", "Adds a second controller and attaches logs.vhdx to it.")]
public sealed class AddVmScsiControllerCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "Writes the new controller to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!ShouldProcess(vm.Name, "Add-VMScsiController")) return;
        if (TryCall(c => VmHostClient.ScsiControllers.AddScsiController(Ref(vm), cancellationToken: c), vm, out var controller) && Passthru)
            WriteObject(VMScsiController.From(controller, HostName));
    }
}

[Cmdlet(VerbsCommon.Get, "VMScsiController", DefaultParameterSetName = NameSet)]
[OutputType(typeof(VMScsiController))]
[CmdletHelp("Gets the SCSI controllers of a virtual machine.",
    "Gets each virtual machine's SCSI controllers with the drives on them, optionally only the one with -ControllerNumber.")]
[CmdletExample("Get-VMScsiController -VMName db01", "Lists db01's SCSI controllers and their drives.")]
[CmdletExample("Get-VMScsiController db01 -ControllerNumber 1 | Select-Object -ExpandProperty Drives", "Shows the drives on db01's second controller.")]
public sealed class GetVmScsiControllerCommand : VmTargetCmdlet
{
    [Parameter(Position = 1, HelpMessage = "Only the controller with this number.")]
    [ValidateRange(0, 3)]
    public int? ControllerNumber { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!TryCall(c => VmHostClient.ScsiControllers.ListScsiControllers(Ref(vm), cancellationToken: c), vm, out var list)) return;
        foreach (var controller in list.Controllers)
            if (ControllerNumber is not { } number || controller.ControllerNumber == number) WriteObject(VMScsiController.From(controller, HostName));
    }
}

[Cmdlet(VerbsCommon.Remove, "VMScsiController", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[CmdletHelp("Removes a SCSI controller from a virtual machine.",
    "Removes the SCSI controller with -ControllerNumber from each virtual machine; the controllers after it take the numbers one lower, with their drives. A controller that holds drives is refused, naming them; the virtual machine must be Off.")]
[CmdletExample("Remove-VMScsiController -VMName db01 -ControllerNumber 1", "Removes db01's second SCSI controller.")]
public sealed class RemoveVmScsiControllerCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1, HelpMessage = "The number of the controller to remove.")]
    [ValidateRange(0, 3)]
    public int ControllerNumber { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!ShouldProcess($"SCSI controller {ControllerNumber} of '{vm.Name}'", "Remove-VMScsiController")) return;
        TryCall(c => VmHostClient.ScsiControllers.RemoveScsiController(new RemoveScsiControllerRequest { Vm = Ref(vm), ControllerNumber = ControllerNumber }, cancellationToken: c), vm, out _);
    }
}
