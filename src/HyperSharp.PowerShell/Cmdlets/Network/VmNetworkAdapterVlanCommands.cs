using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

// An adapter's VLAN: Untagged (the default) or Access with one VLAN id. The switch tags what the adapter sends with
// its access VLAN and delivers to it only frames of that VLAN, untagged. Trunk and private VLAN modes are not supported.

[Cmdlet(VerbsCommon.Get, "VMNetworkAdapterVlan", DefaultParameterSetName = AllSet)]
[OutputType(typeof(VMNetworkAdapterVlanSetting))]
[CmdletHelp("Gets the VLAN settings of virtual network adapters.",
    "Gets the VLAN mode (Untagged or Access) and access VLAN of each adapter: of every virtual machine when no virtual machine is named, else of the virtual machines or adapters given, optionally only adapters named -VMNetworkAdapterName.")]
[CmdletExample("Get-VMNetworkAdapterVlan", "Lists the VLAN settings of every adapter of every virtual machine.")]
[CmdletExample("Get-VMNetworkAdapterVlan -VMName web01 -VMNetworkAdapterName backend", "Shows the VLAN of web01's adapter backend.")]
public sealed class GetVmNetworkAdapterVlanCommand : NetworkAdapterCmdlet
{
    // A set no parameter declares: the command without arguments lists every VM's adapters, as Hyper-V's does.
    private const string AllSet = "All";

    [Parameter(ParameterSetName = VMNameSet, HelpMessage = "Only adapters with this name; wildcards are allowed.")]
    [Parameter(ParameterSetName = VMObjectSet)]
    [Parameter(ParameterSetName = AllSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? VMNetworkAdapterName { get; set; }

    protected override string[]? AdapterNames => VMNetworkAdapterName is null ? null : [VMNetworkAdapterName];

    protected override void ProcessRecord()
    {
        if (ParameterSetName != AllSet)
        {
            base.ProcessRecord();
            return;
        }
        foreach (var adapter in Adapters(null, AdapterNames)) ProcessAdapter(adapter);
    }

    protected override void ProcessAdapter(VMNetworkAdapter adapter) => WriteObject(adapter.VlanSetting);
}

[Cmdlet(VerbsCommon.Set, "VMNetworkAdapterVlan", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMNetworkAdapterVlanSetting))]
[CmdletHelp("Configures the VLAN of virtual network adapters.",
    "Puts each adapter in Access mode on one VLAN (-Access -VlanId 1-4094): the switch tags its frames with that VLAN and delivers it only that VLAN's frames, untagged; or back to Untagged (-Untagged). The switch applies it at once, on a running virtual machine too. Trunk and private VLAN modes are not supported.")]
[CmdletExample("Set-VMNetworkAdapterVlan -VMName web01 -Access -VlanId 121", "Puts every adapter of web01 on VLAN 121.")]
[CmdletExample("Get-VMNetworkAdapter -VMName web01 -Name backend | Set-VMNetworkAdapterVlan -Untagged", "Takes web01's adapter backend off its VLAN.")]
public sealed class SetVmNetworkAdapterVlanCommand : NetworkAdapterCmdlet
{
    [Parameter(ParameterSetName = VMNameSet, HelpMessage = "Only the adapter with this name; wildcards are allowed. Every adapter of the virtual machine when omitted.")]
    [Parameter(ParameterSetName = VMObjectSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? VMNetworkAdapterName { get; set; }

    [Parameter(HelpMessage = "Access mode: the adapter is on the one VLAN -VlanId names.")]
    [Alias("a")]
    public SwitchParameter Access { get; set; }

    [Parameter(HelpMessage = "The adapter's VLAN in Access mode, 1-4094.")]
    [Alias("AccessVlanId")]
    [ValidateRange(1, 4094)]
    public int? VlanId { get; set; }

    [Parameter(HelpMessage = "Untagged mode: the adapter is on no VLAN.")]
    [Alias("u")]
    public SwitchParameter Untagged { get; set; }

    [Parameter(HelpMessage = "Writes the new VLAN settings to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override string[]? AdapterNames => VMNetworkAdapterName is null ? null : [VMNetworkAdapterName];

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        if (Access == Untagged)
            ThrowParameterError(nameof(Access), "give one mode: -Access -VlanId N, or -Untagged", null);
        if (Access && VlanId is null)
            ThrowParameterError(nameof(VlanId), "-Access needs -VlanId (1-4094)", null);
        if (Untagged && VlanId is not null)
            ThrowParameterError(nameof(VlanId), "-VlanId goes with -Access, not -Untagged", VlanId);
    }

    protected override void ProcessAdapter(VMNetworkAdapter adapter)
    {
        int vlan = Access ? VlanId!.Value : 0;
        Update(adapter, Access ? $"Set-VMNetworkAdapterVlan -Access -VlanId {vlan}" : "Set-VMNetworkAdapterVlan -Untagged",
            new UpdateNetworkAdapterRequest { AccessVlanId = vlan }, Passthru, result => result.ToVlanSetting(HostName));
    }
}
