using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

[Cmdlet(VerbsCommon.Rename, "VMNetworkAdapter", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMNetworkAdapter))]
[CmdletHelp("Renames a virtual network adapter.",
    "Gives each adapter a new name. A running guest sees the new name at once as the adapter's PCI slot label (/sys/class/net/IF/device/label).")]
[CmdletExample("Rename-VMNetworkAdapter -VMName web01 -Name 'Network Adapter' -NewName frontend", "Renames web01's adapter 'Network Adapter' to frontend.")]
[CmdletExample("Get-VMNetworkAdapter -VMName web01 -Name backend | Rename-VMNetworkAdapter -NewName storage -Passthru", "Renames an adapter through the pipeline and shows it.")]
public sealed class RenameVmNetworkAdapterCommand : NetworkAdapterCmdlet
{
    [Parameter(Position = 1, ParameterSetName = VMNameSet, HelpMessage = "The current name of the adapter; wildcards are allowed. Every adapter of the virtual machine when omitted.")]
    [Parameter(Position = 1, ParameterSetName = VMObjectSet)]
    [Alias("VMNetworkAdapterName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Name { get; set; }

    [Parameter(Mandatory = true, Position = 2, HelpMessage = "The new name of the adapter.")]
    [ValidateNotNullOrEmpty]
    public string NewName { get; set; } = "";

    [Parameter(HelpMessage = "Writes the renamed adapters to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override string[]? AdapterNames => Name is null ? null : [Name];

    protected override void ProcessAdapter(VMNetworkAdapter adapter) =>
        Update(adapter, $"Rename-VMNetworkAdapter to '{NewName}'", new UpdateNetworkAdapterRequest { NewName = NewName }, Passthru);
}
