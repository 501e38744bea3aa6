using System.Management.Automation;

namespace HyperSharp.PowerShell.Cmdlets.Network;

[Cmdlet(VerbsCommon.Remove, "VMNetworkAdapter", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMNetworkAdapter))]
[CmdletHelp("Removes virtual network adapters from a virtual machine.",
    "Removes the network adapters named by -Name from each virtual machine (every adapter when -Name is omitted), or the adapters passed in. A running virtual machine loses the adapter at once through PCI hotplug; its MAC address goes back to the host's pool.")]
[CmdletExample("Remove-VMNetworkAdapter -VMName web01 -Name backend", "Removes the adapter backend from web01.")]
[CmdletExample("Get-VMNetworkAdapter -VMName web01 | Where-Object SwitchName -eq '' | Remove-VMNetworkAdapter -WhatIf", "Shows which of web01's disconnected adapters would be removed, without removing them.")]
public sealed class RemoveVmNetworkAdapterCommand : NetworkAdapterCmdlet
{
    [Parameter(ParameterSetName = VMNameSet, HelpMessage = "The name of the adapter to remove; wildcards are allowed. Every adapter of the virtual machine when omitted.")]
    [Parameter(ParameterSetName = VMObjectSet)]
    [Alias("VMNetworkAdapterName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Name { get; set; }

    [Parameter(HelpMessage = "Writes the removed adapters to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override string[]? AdapterNames => Name is null ? null : [Name];

    protected override void ProcessAdapter(VMNetworkAdapter adapter)
    {
        if (!ShouldProcess(Describe(adapter), "Remove-VMNetworkAdapter")) return;
        if (TryCall(c => VmHostClient.Networking.RemoveNetworkAdapter(Ref(adapter), cancellationToken: c), adapter, out _) && Passthru) WriteObject(adapter);
    }
}
