using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

[Cmdlet(VerbsCommon.Set, "VMNetworkAdapter", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMNetworkAdapter))]
[CmdletHelp("Configures a virtual network adapter.",
    "Changes the settings given on each adapter, leaves the others as they are. The switch enforces them on the adapter's port at once, on a running virtual machine too: MAC address spoofing Off drops frames sent from another source address; DHCP guard On drops DHCP server messages from the virtual machine; router guard On drops its router advertisements and redirects; MaximumBandwidth caps what it sends. The MAC address (-StaticMacAddress, -DynamicMacAddress) changes only while the virtual machine is Off. -DeviceNaming On shows the adapter's name to the guest as its PCI slot label, Off removes it; a running guest sees the change on its next read of the label.")]
[CmdletExample("Set-VMNetworkAdapter -VMName web01 -DhcpGuard On -RouterGuard On", "Stops every adapter of web01 from acting as a DHCP server or router.")]
[CmdletExample("Get-VMNetworkAdapter -VMName web01 -Name backend | Set-VMNetworkAdapter -MaximumBandwidth 100000000 -Passthru", "Caps the adapter backend at 100 Mbit/s and shows it.")]
public sealed class SetVmNetworkAdapterCommand : NetworkAdapterCmdlet
{
    [Parameter(ParameterSetName = VMNameSet, HelpMessage = "Only the adapter with this name; wildcards are allowed. Every adapter of the virtual machine when omitted.")]
    [Parameter(ParameterSetName = VMObjectSet)]
    [Alias("VMNetworkAdapterName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Name { get; set; }

    [Parameter(HelpMessage = "On lets the virtual machine send frames from MAC addresses other than the adapter's; Off (the default) drops them.")]
    public OnOffState? MacAddressSpoofing { get; set; }

    [Parameter(HelpMessage = "On drops DHCP server messages (offers, acknowledgements) the virtual machine sends.")]
    public OnOffState? DhcpGuard { get; set; }

    [Parameter(HelpMessage = "On drops router advertisements and redirects the virtual machine sends.")]
    public OnOffState? RouterGuard { get; set; }

    [Parameter(HelpMessage = "The most the adapter may send, in bits per second; 0 removes the cap.")]
    [ValidateRange(0, long.MaxValue)]
    public long? MaximumBandwidth { get; set; }

    [Parameter(HelpMessage = "Gives the adapter this MAC address: 12 hex digits, unicast. Needs the virtual machine Off.")]
    [ValidateNotNullOrEmpty]
    public string? StaticMacAddress { get; set; }

    [Parameter(HelpMessage = "Gives the adapter a MAC address from the host's pool again. Needs the virtual machine Off.")]
    public SwitchParameter DynamicMacAddress { get; set; }

    [Parameter(HelpMessage = "On shows the adapter's name to the guest as its PCI slot label (/sys/class/net/IF/device/label); Off removes it. Takes effect at once on a running virtual machine.")]
    public OnOffState? DeviceNaming { get; set; }

    [Parameter(HelpMessage = "Writes the changed adapters to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override string[]? AdapterNames => Name is null ? null : [Name];

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        if (DynamicMacAddress && StaticMacAddress is not null)
            ThrowParameterError(nameof(StaticMacAddress), "-DynamicMacAddress and -StaticMacAddress cannot be used together", StaticMacAddress);
    }

    protected override void ProcessAdapter(VMNetworkAdapter adapter)
    {
        var request = new UpdateNetworkAdapterRequest();
        if (MacAddressSpoofing is { } spoofing) request.MacAddressSpoofing = spoofing.ToApi();
        if (DhcpGuard is { } dhcp) request.DhcpGuard = dhcp.ToApi();
        if (RouterGuard is { } router) request.RouterGuard = router.ToApi();
        if (MaximumBandwidth is { } bandwidth) request.MaximumBandwidth = bandwidth;
        if (DeviceNaming is { } naming) request.DeviceNaming = naming.ToApi();
        if (StaticMacAddress is not null) request.StaticMacAddress = ApiMacAddress(StaticMacAddress);
        else if (DynamicMacAddress) request.StaticMacAddress = "";
        Update(adapter, "Set-VMNetworkAdapter", request, Passthru);
    }
}
