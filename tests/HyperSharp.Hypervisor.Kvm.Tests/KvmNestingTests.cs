using Xunit.Abstractions;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>Nested virtualization is exposed only where the host's KVM allows it, and refused with the reason elsewhere.</summary>
public sealed class KvmNestingTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _sys = Directory.CreateTempSubdirectory("hs-sysmodule").FullName;

    public void Dispose() => Directory.Delete(_sys, true);

    private void Module(string name, string? nested)
    {
        string dir = Path.Combine(_sys, name, "parameters");
        Directory.CreateDirectory(dir);
        if (nested is not null) File.WriteAllText(Path.Combine(dir, "nested"), nested + "\n");
    }

    [Fact]
    public void TheModulesNestedParameterDecides()
    {
        Module("kvm", null);
        Module("kvm_intel", "Y");
        Assert.True(KvmNesting.Check(_sys).IsAvailable);
        File.WriteAllText(Path.Combine(_sys, "kvm_intel", "parameters", "nested"), "N\n");
        var off = KvmNesting.Check(_sys);
        Assert.False(off.IsAvailable);
        Assert.Contains("kvm_intel is loaded with nested=N", off.Reason);
    }

    [Fact]
    public void AHostWithoutKvmIntelOrKvmAmdSaysWhichKvmItHas()
    {
        Module("kvm", null);
        Module("kvm_pvm", null);
        var none = KvmNesting.Check(_sys);
        Assert.False(none.IsAvailable);
        Assert.Contains("loaded: kvm, kvm_pvm", none.Reason);
    }

    [Fact]
    public void TheKvmBackendRefusesNestedVirtualizationWhereTheHostDoesNotAllowIt()
    {
        using var kvm = new KvmHypervisor();
        if (!kvm.Availability.IsAvailable) { output.WriteLine("skipped: /dev/kvm unusable: " + kvm.Availability.Reason); return; }
        var nesting = KvmNesting.Check();
        if (nesting.IsAvailable)
        {
            using var nested = kvm.CreatePartition(new PartitionOptions { ExposeVirtualizationExtensions = true });
            output.WriteLine("this host allows nesting: " + nesting.Reason);
            return;
        }
        var e = Assert.Throws<HypervisorException>(() => kvm.CreatePartition(new PartitionOptions { ExposeVirtualizationExtensions = true }));
        Assert.Contains(nesting.Reason, e.Message);
    }
}
