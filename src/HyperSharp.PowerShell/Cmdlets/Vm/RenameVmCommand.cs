using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.Rename, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Renames a virtual machine.", "Gives a virtual machine a new name; names are unique on the host. Its Id does not change.")]
[CmdletExample("Rename-VM -Name web01 -NewName web-frontend-01", "Renames web01.")]
public sealed class RenameVmCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1, HelpMessage = "The new name of the virtual machine.")]
    [ValidateNotNullOrEmpty]
    public string NewName { get; set; } = "";

    [Parameter(HelpMessage = "Writes the renamed virtual machine to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        var request = new UpdateVmRequest { Vm = Ref(vm), NewName = NewName };
        Change(vm, $"Rename-VM to '{NewName}'", Passthru, c => VmHostClient.UpdateVm(request, cancellationToken: c));
    }
}
