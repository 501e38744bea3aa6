using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell;

/// <summary>
/// A cmdlet that acts on VMs named by -Name (wildcards, position 0; also -VMName) or passed as VirtualMachine
/// objects through -VM or the pipeline, as Hyper-V's Start-VM, Get-VMProcessor and the others do.
/// </summary>
public abstract class VmTargetCmdlet : VmSelectionCmdlet
{
    protected const string NameSet = "Name";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, HelpMessage = "The name of the virtual machine; wildcards are allowed.")]
    [Alias("VMName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    protected override (string Set, string[] Names) VmNames => (NameSet, Name);

    protected static VmRef Ref(VirtualMachine vm) => new() { Id = vm.Id.ToString("D") };

    /// <summary>
    /// One power or configuration request for a VM, after -WhatIf/-Confirm allow it; with -Passthru the VM is
    /// written as the host returned it (Running after Start-VM, Off after Stop-VM, ...).
    /// </summary>
    protected void Change(VirtualMachine vm, string action, bool passthru, Func<CancellationToken, Vm> call)
    {
        if (!ShouldProcess(vm.Name, action)) return;
        if (!TryCall(call, vm, out var result)) return;
        WriteWarnings(vm.Name, result.Warnings);
        if (passthru) WriteObject(result.ToObject(HostName));
    }
}
