using System.Management.Automation;

namespace HyperSharp.PowerShell.Cmdlets.Network;

[Cmdlet(VerbsCommon.Get, "VMNetworkAdapter", DefaultParameterSetName = VMNameSet)]
[OutputType(typeof(VMNetworkAdapter))]
[CmdletHelp("Gets the virtual network adapters of virtual machines.",
    "Gets the network adapters of each virtual machine, or of every virtual machine with -All, optionally only those whose names match -Name (wildcards allowed). Each adapter shows its switch, MAC address, policies and status. The host's own interfaces (Hyper-V's -ManagementOS adapters) are not listed.")]
[CmdletExample("Get-VMNetworkAdapter -VMName web01", "Lists web01's adapters with their switches, MAC addresses and status.")]
[CmdletExample("Get-VMNetworkAdapter -All | Where-Object SwitchName -eq 'lab'", "Lists every adapter connected to the switch lab.")]
public sealed class GetVmNetworkAdapterCommand : VmAdapterCmdlet
{
    private const string AllSet = "All";

    [Parameter(Position = 1, ParameterSetName = VMNameSet, HelpMessage = "Only adapters with this name; wildcards are allowed.")]
    [Parameter(Position = 1, ParameterSetName = VMObjectSet)]
    [Parameter(Position = 0, ParameterSetName = AllSet)]
    [Alias("VMNetworkAdapterName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Name { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = AllSet, HelpMessage = "Gets the adapters of every virtual machine on the host.")]
    public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == AllSet) WriteAdapters(null);
        else base.ProcessRecord();
    }

    protected override void ProcessVm(VirtualMachine vm) => WriteAdapters(vm);

    private void WriteAdapters(VirtualMachine? vm)
    {
        foreach (var adapter in Adapters(vm, Name is null ? null : [Name])) WriteObject(adapter);
    }
}
