using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

[Cmdlet(VerbsCommon.New, "VMSwitch", DefaultParameterSetName = NetAdapterNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMSwitch))]
[CmdletHelp("Creates a new virtual switch on the host.",
    "Creates a virtual switch the host keeps across restarts. -SwitchType Private connects the virtual machines on this host to each other only; -SwitchType Internal also gives the host an interface on the switch (a TAP interface the switch owns, named by -HostInterfaceName or after the switch); -NetAdapterName bridges the switch to that host network interface, which makes it External. An interface that cannot be created fails the command and leaves the host's networking as it was.")]
[CmdletExample("New-VMSwitch -Name lab -SwitchType Private", "Creates the Private switch lab, for virtual machines on this host only.")]
[CmdletExample("New-VMSwitch -Name hostnet -SwitchType Internal -Notes 'reaches the host'", "Creates an Internal switch; the host gets a TAP interface on it.")]
[CmdletExample("New-VMSwitch -Name uplink -NetAdapterName eth1", "Creates an External switch bridged to the host's interface eth1.")]
public sealed class NewVmSwitchCommand : HyperSharpCmdlet
{
    private const string NetAdapterNameSet = "NetAdapterName";
    private const string SwitchTypeSet = "SwitchType";

    [Parameter(Mandatory = true, Position = 0, HelpMessage = "The name of the new virtual switch, unique on the host.")]
    [Alias("SwitchName")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = SwitchTypeSet, HelpMessage = "Private (virtual machines only) or Internal (virtual machines and the host). For External give -NetAdapterName instead.")]
    [ValidateSet(nameof(VMSwitchType.Private), nameof(VMSwitchType.Internal))]
    public VMSwitchType SwitchType { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = NetAdapterNameSet, ValueFromPipelineByPropertyName = true, HelpMessage = "The host network interface (e.g. eth1) an External switch is bridged to; one interface.")]
    [Alias("InterfaceAlias")]
    [ValidateNotNullOrEmpty]
    public string[] NetAdapterName { get; set; } = [];

    [Parameter(ParameterSetName = SwitchTypeSet, HelpMessage = "Internal only: the name of the host's TAP interface (at most 15 bytes); the default is derived from the switch's name.")]
    [ValidateNotNullOrEmpty]
    public string? HostInterfaceName { get; set; }

    [Parameter(HelpMessage = "Free text about the switch.")]
    public string? Notes { get; set; }

    protected override void ProcessRecord()
    {
        if (NetAdapterName.Length > 1)
            ThrowParameterError(nameof(NetAdapterName), "an External switch is bridged to one host interface: give one name (teaming is not supported)", NetAdapterName);
        var request = new CreateSwitchRequest { Name = Name, Notes = Notes ?? "" };
        if (ParameterSetName == NetAdapterNameSet)
        {
            request.SwitchType = Api.V1.SwitchType.External;
            request.NetAdapterName = NetAdapterName[0];
        }
        else
        {
            request.SwitchType = SwitchType.ToApi();
            request.HostInterfaceName = HostInterfaceName ?? "";
        }
        if (!ShouldProcess(Name, $"New-VMSwitch ({(ParameterSetName == NetAdapterNameSet ? "External" : SwitchType)})")) return;
        if (TryCall(c => VmHostClient.Networking.CreateSwitch(request, cancellationToken: c), Name, out var created)) WriteObject(created.ToObject(HostName));
    }
}
