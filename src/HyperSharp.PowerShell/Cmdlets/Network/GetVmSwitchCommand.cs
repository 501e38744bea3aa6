using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

[Cmdlet(VerbsCommon.Get, "VMSwitch", DefaultParameterSetName = NameSet)]
[OutputType(typeof(VMSwitch))]
[CmdletHelp("Gets the virtual switches on the host.",
    "Gets every virtual switch on the host, or those whose names match -Name (wildcards allowed), or those with the given -Id; -SwitchType keeps only switches of those types. A name without wildcards that matches no switch is an ObjectNotFound error.")]
[CmdletExample("Get-VMSwitch", "Lists every virtual switch with its type and, for External switches, the host interface it is bridged to.")]
[CmdletExample("Get-VMSwitch -SwitchType Internal | Select-Object Name, HostInterfaceName", "Shows each Internal switch and the host's TAP interface on it.")]
public sealed class GetVmSwitchCommand : HyperSharpCmdlet
{
    private const string NameSet = "Name";
    private const string IdSet = "Id";

    [Parameter(Position = 0, ParameterSetName = NameSet, HelpMessage = "The name of the virtual switch; wildcards are allowed. All switches when omitted.")]
    [Alias("SwitchName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Name { get; set; }

    [Parameter(Position = 0, ParameterSetName = IdSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, HelpMessage = "The unique identifier of the virtual switch.")]
    [Alias("SwitchId")]
    public Guid[] Id { get; set; } = [];

    [Parameter(HelpMessage = "Only switches of these types: Private, Internal, External.")]
    public VMSwitchType[]? SwitchType { get; set; }

    protected override void ProcessRecord()
    {
        var switches = ParameterSetName == IdSet ? ById() : ResolveSwitch(Name ?? "*");
        foreach (var s in switches)
            if (SwitchType is null || SwitchType.Contains(s.SwitchType)) WriteObject(s);
    }

    private IEnumerable<VMSwitch> ById()
    {
        foreach (var id in Id)
            if (TryCall(c => VmHostClient.Networking.GetSwitch(new SwitchRef { Id = id.ToString("D") }, cancellationToken: c), id, out var s)) yield return s.ToObject(HostName);
    }
}
