using HyperSharp.Hypervisor.Kvm;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>`--backend auto` probe and the errors for a missing or unusable KVM device.</summary>
public sealed class ProbeAndAvailabilityTests(ITestOutputHelper output)
{
    [Fact]
    public void Probe_MeasuresKernelCodeSpeed_QuicklyAndSaysNativeOrParavirtual()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        var result = KvmProbe.Measure(hv);
        output.WriteLine($"{result.Description} ({result.InstructionsPerSecond / 1e6:0.0} M instr/s, probe took {result.Elapsed.TotalMilliseconds:0} ms)");
        Assert.True(result.IsUsable, result.Description);
        // ~0.1 s on this paravirtual KVM when quiet; 2.2 s was seen at load 26 before rounds past the first were
        // time-boxed. The bound says the probe stays a moment of `--backend auto`, with room for a loaded host.
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(10), $"probe took {result.Elapsed}");
        if (result.KernelCodeNative)
            Assert.Equal("native", result.Description);
        else
            Assert.Matches(@"^paravirtual, kernel code emulated at \d+\.\d M instr/s$", result.Description);
    }

    [Fact]
    public void MissingDevice_IsUnavailable_WithReasonAndAdvice()
    {
        using var hv = new KvmHypervisor("/nonexistent/kvm");
        Assert.False(hv.Availability.IsAvailable);
        Assert.Contains("does not exist", hv.Availability.Reason);
        Assert.Contains("--backend emulated", hv.Availability.Reason);
        var ex = Assert.Throws<HypervisorException>(() => hv.CreatePartition(new PartitionOptions()));
        Assert.Contains("/nonexistent/kvm", ex.Message);
        var probe = KvmProbe.Measure(hv);
        Assert.False(probe.IsUsable);
    }

    [Fact]
    public void NonKvmDevice_IsUnavailable_WithReason()
    {
        using var hv = new KvmHypervisor("/dev/null"); // opens, but answers no KVM ioctl
        Assert.False(hv.Availability.IsAvailable);
        output.WriteLine(hv.Availability.Reason);
        Assert.Contains("not a KVM device", hv.Availability.Reason);
    }

    [Fact]
    public void TooManyProcessors_IsRefusedWithTheLimit()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        var ex = Assert.Throws<HypervisorException>(() => hv.CreatePartition(new PartitionOptions { ProcessorCount = hv.MaxProcessorCount + 1 }));
        Assert.Contains(hv.MaxProcessorCount.ToString(), ex.Message);
    }

    [Fact]
    public void OnlyTheHostsVendor_IsPresented_AnotherIsRefusedNamingBoth()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        if (ProcessorVendors.Host is not ProcessorVendor host) { output.WriteLine("host processor is neither GenuineIntel nor AuthenticAMD: nothing to compare"); return; }
        var other = host == ProcessorVendor.Intel ? ProcessorVendor.Amd : ProcessorVendor.Intel;
        var ex = Assert.Throws<HypervisorException>(() => hv.CreatePartition(new PartitionOptions { Vendor = other }));
        output.WriteLine(ex.Message);
        Assert.Contains(host.VendorString(), ex.Message);
        Assert.Contains(other.VendorString(), ex.Message);
        Assert.Contains("Emulated", ex.Message);
        using var partition = hv.CreatePartition(new PartitionOptions { Vendor = host, InterruptControllers = false, IntervalTimer = false });
    }
}
