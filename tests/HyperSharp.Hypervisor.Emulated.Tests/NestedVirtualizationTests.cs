using HyperSharp.Hypervisor.Emulated.Backend;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>The software processor has no VMX or SVM: a VM that asks for nested virtualization is refused, with the reason.</summary>
public class NestedVirtualizationTests
{
    [Fact]
    public void The_Emulated_backend_refuses_nested_virtualization_naming_why()
    {
        var e = Assert.Throws<HypervisorException>(() => new EmulatedHypervisor().CreatePartition(new PartitionOptions { ExposeVirtualizationExtensions = true }));
        Assert.Contains("no VMX or SVM", e.Message);
        Assert.Contains("-ExposeVirtualizationExtensions $false", e.Message);
        using var plain = new EmulatedHypervisor().CreatePartition(new PartitionOptions());
    }
}
