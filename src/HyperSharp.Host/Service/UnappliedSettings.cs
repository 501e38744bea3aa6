using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>
/// Settings this release stores but does not act on yet, named in the answer to the change that sets them (the API's
/// warnings; the cmdlets and the CLI print them) so a script never believes they hold, and settings that hold only on
/// some hosts (nested virtualization: the worker's backend refuses the VM at start where it cannot expose VMX/SVM).
/// </summary>
public static class UnappliedSettings
{
    public static IEnumerable<string> Of(ProcessorChange change)
    {
        if (change.ExposeVirtualizationExtensions == true)
            yield return "ExposeVirtualizationExtensions holds on the Kvm backend where the host's kvm_intel or kvm_amd module allows nesting; elsewhere (the Emulated backend, other KVM modules) the VM is refused at start with the reason.";
    }
}
