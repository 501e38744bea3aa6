using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

[Cmdlet(VerbsCommon.Add, "VMNetworkAdapter", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMNetworkAdapter))]
[CmdletHelp("Adds a virtual network adapter to a virtual machine.",
    "Adds a network adapter (virtio-net) to each virtual machine, connected to -SwitchName or not connected, with a dynamic MAC address from the host's pool unless -StaticMacAddress is given. A running virtual machine gets the adapter at once through PCI hotplug. With -DeviceNaming On the guest sees the adapter's name as its PCI slot label (/sys/class/net/IF/device/label); Off, the default as in Hyper-V, shows it no name.")]
[CmdletExample("Add-VMNetworkAdapter -VMName web01 -SwitchName lab", "Adds an adapter named 'Network Adapter' to web01, connected to the switch lab.")]
[CmdletExample("Get-VM web01 | Add-VMNetworkAdapter -Name backend -StaticMacAddress 00155D0A0B0C -Passthru", "Adds a disconnected adapter named backend with a fixed MAC address and shows it.")]
public sealed class AddVmNetworkAdapterCommand : VmAdapterCmdlet
{
    [Parameter(HelpMessage = "The virtual switch to connect the new adapter to; not connected when omitted.")]
    [ValidateNotNullOrEmpty]
    public string? SwitchName { get; set; }

    [Parameter(HelpMessage = "The name of the new adapter; the default is 'Network Adapter'.")]
    [Alias("VMNetworkAdapterName")]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter(HelpMessage = "Gives the adapter a MAC address from the host's pool (the default).")]
    public SwitchParameter DynamicMacAddress { get; set; }

    [Parameter(HelpMessage = "Gives the adapter this MAC address: 12 hex digits (00155D0A0B0C or 00-15-5D-0A-0B-0C), unicast.")]
    [ValidateNotNullOrEmpty]
    public string? StaticMacAddress { get; set; }

    [Parameter(HelpMessage = "On shows the adapter's name to the guest as its PCI slot label; Off (the default) does not.")]
    public OnOffState? DeviceNaming { get; set; }

    [Parameter(HelpMessage = "Writes the new adapter to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        if (DynamicMacAddress && StaticMacAddress is not null)
            ThrowParameterError(nameof(StaticMacAddress), "-DynamicMacAddress and -StaticMacAddress cannot be used together", StaticMacAddress);
    }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!ShouldProcess(vm.Name, $"Add-VMNetworkAdapter{(SwitchName is null ? "" : $" on switch '{SwitchName}'")}")) return;
        var request = new AddNetworkAdapterRequest
        {
            Vm = new VmRef { Id = vm.Id.ToString("D") },
            Name = Name ?? "",
            SwitchName = SwitchName ?? "",
            StaticMacAddress = StaticMacAddress is null ? "" : ApiMacAddress(StaticMacAddress),
            DeviceNaming = DeviceNaming?.ToApi() ?? HyperSharp.Api.V1.OnOffState.Unspecified,
        };
        if (TryCall(c => VmHostClient.Networking.AddNetworkAdapter(request, cancellationToken: c), vm, out var added) && Passthru)
            WriteObject(added.ToObject(HostName));
    }
}
