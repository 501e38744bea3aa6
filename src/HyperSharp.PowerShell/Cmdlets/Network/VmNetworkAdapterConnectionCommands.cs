using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

// Connecting an adapter to a switch and disconnecting it: one update of its switch_name each (empty disconnects).

[Cmdlet(VerbsCommunications.Connect, "VMNetworkAdapter", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMNetworkAdapter))]
[CmdletHelp("Connects a virtual network adapter to a virtual switch.",
    "Connects each adapter to the virtual switch -SwitchName, moving it off the switch it was on. A running virtual machine's adapter changes ports at once; the guest sees its link stay up.")]
[CmdletExample("Connect-VMNetworkAdapter -VMName web01, web02 -Name backend -SwitchName lab", "Connects the adapters named backend of web01 and web02 to the switch lab.")]
[CmdletExample("Get-VMNetworkAdapter -VMName web01 | Connect-VMNetworkAdapter -SwitchName lab", "Connects every adapter of web01 to lab.")]
[CmdletExample("Connect-VMNetworkAdapter -VMName web01 -Name backend -VMSwitch (Get-VMSwitch lab)", "Connects web01's adapter backend to the switch object Get-VMSwitch returned.")]
public sealed class ConnectVmNetworkAdapterCommand : NetworkAdapterCmdlet
{
    [Parameter(Position = 1, ParameterSetName = VMNameSet, HelpMessage = "The names of the adapters to connect; wildcards are allowed. Every adapter of the virtual machine when omitted.")]
    [Parameter(Position = 1, ParameterSetName = VMObjectSet)]
    [Alias("VMNetworkAdapterName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    [Parameter(Mandatory = true, Position = 2, ParameterSetName = VMNameSet, HelpMessage = "The virtual switch to connect the adapters to: its name, or (as -VMSwitch) a switch object from Get-VMSwitch.")]
    [Parameter(Mandatory = true, Position = 2, ParameterSetName = VMObjectSet)]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = AdapterObjectSet)]
    [Alias("VMSwitch")]
    [SwitchNameTransformation]
    [ValidateNotNullOrEmpty]
    public string SwitchName { get; set; } = "";

    [Parameter(HelpMessage = "Writes the connected adapters to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override string[]? AdapterNames => Name;

    protected override void ProcessAdapter(VMNetworkAdapter adapter) =>
        Update(adapter, $"Connect-VMNetworkAdapter to '{SwitchName}'", new UpdateNetworkAdapterRequest { SwitchName = SwitchName }, Passthru);
}

[Cmdlet(VerbsCommunications.Disconnect, "VMNetworkAdapter", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMNetworkAdapter))]
[CmdletHelp("Disconnects a virtual network adapter from its virtual switch.",
    "Disconnects each adapter from the switch it is on; the adapter stays on its virtual machine (a running guest sees its link go down) and keeps its MAC address and settings.")]
[CmdletExample("Disconnect-VMNetworkAdapter -VMName web01 -Name backend", "Disconnects web01's adapter backend.")]
[CmdletExample("Get-VMNetworkAdapter -All | Where-Object SwitchName -eq 'lab' | Disconnect-VMNetworkAdapter", "Disconnects every adapter on the switch lab.")]
public sealed class DisconnectVmNetworkAdapterCommand : NetworkAdapterCmdlet
{
    [Parameter(Position = 1, ParameterSetName = VMNameSet, HelpMessage = "The names of the adapters to disconnect; wildcards are allowed. Every adapter of the virtual machine when omitted.")]
    [Parameter(Position = 1, ParameterSetName = VMObjectSet)]
    [Alias("VMNetworkAdapterName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    [Parameter(HelpMessage = "Writes the disconnected adapters to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override string[]? AdapterNames => Name;

    protected override void ProcessAdapter(VMNetworkAdapter adapter) =>
        Update(adapter, "Disconnect-VMNetworkAdapter", new UpdateNetworkAdapterRequest { SwitchName = "" }, Passthru);
}
