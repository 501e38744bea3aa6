using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

// The cmdlets that change a switch in place: its notes, its name. Its type and uplink are fixed at creation.

[Cmdlet(VerbsCommon.Set, "VMSwitch", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMSwitch))]
[CmdletHelp("Configures a virtual switch.",
    "Changes the notes of each virtual switch. A switch's type and the host interface it is bridged to are set when it is created: to change them, create a new switch and connect the adapters to it.")]
[CmdletExample("Set-VMSwitch -Name lab -Notes 'test network, no uplink'", "Sets the notes of the switch lab.")]
[CmdletExample("Get-VMSwitch -SwitchType Private | Set-VMSwitch -Notes 'isolated' -Passthru", "Sets the notes of every Private switch and shows them.")]
public sealed class SetVmSwitchCommand : SwitchTargetCmdlet
{
    [Parameter(HelpMessage = "Free text about the switch.")]
    public string? Notes { get; set; }

    [Parameter(HelpMessage = "Writes the changed switch to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessSwitch(VMSwitch vmSwitch)
    {
        var request = new UpdateSwitchRequest();
        if (Notes is not null) request.Notes = Notes;
        Update(vmSwitch, "Set-VMSwitch", Passthru, request);
    }
}

[Cmdlet(VerbsCommon.Rename, "VMSwitch", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMSwitch))]
[CmdletHelp("Renames a virtual switch.",
    "Gives a virtual switch a new name, unique on the host. Its Id does not change, and the adapters connected to it stay connected and report the new SwitchName.")]
[CmdletExample("Rename-VMSwitch lab -NewName lab-old", "Renames the switch lab to lab-old.")]
public sealed class RenameVmSwitchCommand : SwitchTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1, HelpMessage = "The new name of the virtual switch.")]
    [ValidateNotNullOrEmpty]
    public string NewName { get; set; } = "";

    [Parameter(HelpMessage = "Writes the renamed switch to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessSwitch(VMSwitch vmSwitch) =>
        Update(vmSwitch, $"Rename-VMSwitch to '{NewName}'", Passthru, new UpdateSwitchRequest { NewName = NewName });
}
