using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell;

/// <summary>
/// A cmdlet that acts on VMs named by -Name (wildcards, position 0; also -VMName) or passed as
/// VirtualMachine objects through -VM or the pipeline, as Hyper-V's Start-VM, Get-VMProcessor and the
/// others do. A name that matches no VM is a non-terminating ObjectNotFound error; the other names go on.
/// </summary>
public abstract class VmTargetCmdlet : HyperSharpCmdlet
{
    protected const string NameSet = "Name";
    protected const string VMObjectSet = "VMObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, HelpMessage = "The name of the virtual machine; wildcards are allowed.")]
    [Alias("VMName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = VMObjectSet, ValueFromPipeline = true, HelpMessage = "The virtual machine, as Get-VM returns it (from the pipeline too).")]
    [ValidateNotNull]
    public VirtualMachine[] VM { get; set; } = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == VMObjectSet)
        {
            foreach (var vm in VM) ProcessVm(vm);
            return;
        }
        if (ParameterSetName != NameSet) return;
        foreach (var name in Name)
            foreach (var vm in Resolve(name)) ProcessVm(vm);
    }

    /// <summary>Does the cmdlet's work on one VM.</summary>
    protected abstract void ProcessVm(VirtualMachine vm);

    /// <summary>The VMs a name (maybe with wildcards) stands for; writes ObjectNotFound for a plain name that matches none.</summary>
    protected IEnumerable<VirtualMachine> Resolve(string name)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(name))
        {
            if (TryCall(c => VmHostClient.GetVm(new VmRef { Name = name }, cancellationToken: c), name, out var one)) yield return one.ToObject(HostName);
            yield break;
        }
        if (!TryCall(c => VmHostClient.ListVms(new ListVmsRequest { Name = name }, cancellationToken: c), name, out var list)) yield break;
        foreach (var vm in list.Vms) yield return vm.ToObject(HostName);
    }

    protected static VmRef Ref(VirtualMachine vm) => new() { Id = vm.Id.ToString("D") };

    /// <summary>Writes the VM as the host returned it when -Passthru asks for it.</summary>
    protected void WritePassthru(bool passthru, Vm vm)
    {
        if (passthru) WriteObject(vm.ToObject(HostName));
    }
}
