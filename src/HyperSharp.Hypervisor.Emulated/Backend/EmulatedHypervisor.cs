namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>The Emulated backend: guests run on our software x86-64 processor, on any host .NET runs on.</summary>
public sealed class EmulatedHypervisor : IHypervisor
{
    public string Name => "emulated";

    public HypervisorAvailability Availability { get; } = HypervisorAvailability.Available("software x86-64 processor");

    public IPartition CreatePartition(PartitionOptions options) => options.ExposeVirtualizationExtensions
        ? throw new HypervisorException(NoNesting)
        : new EmulatedPartition(options);

    /// <summary>Why a VM that asks for nested virtualization cannot run here.</summary>
    public const string NoNesting = "ExposeVirtualizationExtensions: the Emulated backend's software processor has no VMX or SVM to expose; nested virtualization needs the Kvm backend on a host whose kvm_intel or kvm_amd module allows nesting (or turn it off: Set-VMProcessor -ExposeVirtualizationExtensions $false)";
}
