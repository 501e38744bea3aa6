using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

/// <summary>
/// A cmdlet that acts on virtual switches named by -Name (wildcards, position 0; also -SwitchName) or passed as
/// VMSwitch objects through -VMSwitch or the pipeline, as Hyper-V's Set-, Rename- and Remove-VMSwitch do.
/// </summary>
public abstract class SwitchTargetCmdlet : HyperSharpCmdlet
{
    protected const string NameSet = "Name";
    protected const string SwitchObjectSet = "SwitchObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, HelpMessage = "The name of the virtual switch; wildcards are allowed.")]
    [Alias("SwitchName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = SwitchObjectSet, ValueFromPipeline = true, HelpMessage = "The virtual switch, as Get-VMSwitch returns it (from the pipeline too).")]
    [ValidateNotNull]
    public VMSwitch[] VMSwitch { get; set; } = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == SwitchObjectSet)
        {
            foreach (var s in VMSwitch) ProcessSwitch(s);
            return;
        }
        foreach (var name in Name)
            foreach (var s in ResolveSwitch(name)) ProcessSwitch(s);
    }

    /// <summary>Does the cmdlet's work on one switch.</summary>
    protected abstract void ProcessSwitch(VMSwitch vmSwitch);

    /// <summary>One change to a switch after -WhatIf/-Confirm allow it; with -Passthru the switch as the host left it.</summary>
    protected void Update(VMSwitch vmSwitch, string action, bool passthru, UpdateSwitchRequest request)
    {
        if (!ShouldProcess(vmSwitch.Name, action)) return;
        request.Switch = new SwitchRef { Id = vmSwitch.Id.ToString("D") };
        if (TryCall(c => VmHostClient.Networking.UpdateSwitch(request, cancellationToken: c), vmSwitch, out var result) && passthru)
            WriteObject(result.ToObject(HostName));
    }
}
