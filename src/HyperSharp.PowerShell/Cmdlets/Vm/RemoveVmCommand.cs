using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.Remove, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Deletes a virtual machine.",
    "Removes each virtual machine from the host: its configuration and saved state are deleted, its virtual hard disks are left in place (as Hyper-V does). A running virtual machine is turned off first. Asks for confirmation unless -Force is given.")]
[CmdletExample("Remove-VM -Name test01 -Force", "Deletes test01 without asking; its VHDX files stay.")]
[CmdletExample("Get-VM -Name scratch* | Remove-VM -WhatIf", "Shows which virtual machines would be deleted, without deleting them.")]
public sealed class RemoveVmCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "Deletes without asking for confirmation.")]
    public SwitchParameter Force { get; set; }

    [Parameter(HelpMessage = "Writes the removed virtual machine to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!ShouldProcess(vm.Name, "Remove-VM")) return;
        if (!Force && !ShouldContinue($"Delete the virtual machine '{vm.Name}'? Its disks are kept.", "Remove-VM")) return;
        var request = new RemoveVmRequest { Vm = Ref(vm), Force = true };
        if (TryCall(c => VmHostClient.RemoveVm(request, cancellationToken: c), vm, out _) && Passthru) WriteObject(vm);
    }
}
