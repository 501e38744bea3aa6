using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

[Cmdlet(VerbsCommon.Remove, "VMSwitch", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[CmdletHelp("Deletes a virtual switch.",
    "Removes each virtual switch from the host, with the host interface it owns (an Internal switch's TAP, an External switch's bridge; the host's own adapter stays). Network adapters connected to it stay on their virtual machines, disconnected. Asks for confirmation unless -Force is given.")]
[CmdletExample("Remove-VMSwitch lab -Force", "Deletes the switch lab without asking.")]
[CmdletExample("Get-VMSwitch test* | Remove-VMSwitch -WhatIf", "Shows which switches would be deleted, without deleting them.")]
public sealed class RemoveVmSwitchCommand : SwitchTargetCmdlet
{
    [Parameter(HelpMessage = "Deletes without asking for confirmation.")]
    public SwitchParameter Force { get; set; }

    protected override void ProcessSwitch(VMSwitch vmSwitch)
    {
        if (!ShouldProcess(vmSwitch.Name, "Remove-VMSwitch")) return;
        if (!Force && !ShouldContinue($"Delete the virtual switch '{vmSwitch.Name}'? Adapters connected to it are disconnected.", "Remove-VMSwitch")) return;
        var request = new RemoveSwitchRequest { Switch = new SwitchRef { Id = vmSwitch.Id.ToString("D") } };
        TryCall(c => VmHostClient.Networking.RemoveSwitch(request, cancellationToken: c), vmSwitch, out _);
    }
}
