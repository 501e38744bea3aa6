using System.Management.Automation;

namespace HyperSharp.PowerShell;

/// <summary>
/// A cmdlet whose -Name is something of a VM (an adapter, an integration service), so the VMs are named by -VMName
/// (wildcards, position 0) or passed as VirtualMachine objects through -VM or the pipeline.
/// </summary>
public abstract class VmNameCmdlet : VmSelectionCmdlet
{
    protected const string VMNameSet = "VMName";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = VMNameSet, HelpMessage = "The name of the virtual machine; wildcards are allowed.")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] VMName { get; set; } = [];

    protected override (string Set, string[] Names) VmNames => (VMNameSet, VMName);
}
