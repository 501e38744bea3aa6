using System.Management.Automation;

namespace HyperSharp.PowerShell;

/// <summary>
/// What a cmdlet that starts from virtual machines shares: VirtualMachine objects through -VM or the pipeline, or
/// names (wildcards allowed) through the parameter the subclass declares — -Name for the VM cmdlets, -VMName for the
/// network adapter cmdlets, whose -Name is the adapter's. A name that matches no VM is a non-terminating
/// ObjectNotFound error; the other names go on.
/// </summary>
public abstract class VmSelectionCmdlet : HyperSharpCmdlet
{
    protected const string VMObjectSet = "VMObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = VMObjectSet, ValueFromPipeline = true, HelpMessage = "The virtual machine, as Get-VM returns it (from the pipeline too).")]
    [ValidateNotNull]
    public VirtualMachine[] VM { get; set; } = [];

    /// <summary>The parameter set in which the VMs are named, and the names given.</summary>
    protected abstract (string Set, string[] Names) VmNames { get; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == VMObjectSet)
        {
            foreach (var vm in VM) ProcessVm(vm);
            return;
        }
        var (set, names) = VmNames;
        if (ParameterSetName != set) return;
        foreach (var name in names)
            foreach (var vm in Resolve(name)) ProcessVm(vm);
    }

    /// <summary>Does the cmdlet's work on one VM.</summary>
    protected abstract void ProcessVm(VirtualMachine vm);

    /// <summary>The host's warnings about a request (settings it recorded but does not act on yet, a fallback it took), each as a warning record naming the VM.</summary>
    protected void WriteWarnings(string vmName, IEnumerable<string> warnings)
    {
        foreach (var warning in warnings) WriteWarning($"{vmName}: {warning}");
    }
}
