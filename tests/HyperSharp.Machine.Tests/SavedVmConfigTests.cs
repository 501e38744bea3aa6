using System.Text.Json;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.State;

namespace HyperSharp.Machine.Tests;

/// <summary>The processor vendor travels with a saved VM: a restored guest sees the CPU it booted on.</summary>
public class SavedVmConfigTests
{
    private static SavedVmConfig RoundTrip(SavedVmConfig c) => JsonSerializer.Deserialize<SavedVmConfig>(JsonSerializer.SerializeToUtf8Bytes(c))!;

    [Fact]
    public void The_vendor_is_saved_and_restored()
    {
        var config = new VmConfig { KernelPath = "/k", Processors = 2, ProcessorVendor = ProcessorVendor.Amd };
        var saved = RoundTrip(SavedVmConfig.From(config));
        Assert.Equal("AuthenticAMD", saved.ProcessorVendor);
        Assert.Equal(ProcessorVendor.Amd, saved.ToConfig().ProcessorVendor);
    }

    [Fact]
    public void A_file_from_before_the_choice_restores_with_the_backends_default()
    {
        var saved = RoundTrip(SavedVmConfig.From(new VmConfig { KernelPath = "/k" }));
        Assert.Null(saved.ProcessorVendor);
        Assert.Null(saved.ToConfig().ProcessorVendor);
        var old = JsonSerializer.Deserialize<SavedVmConfig>("""{"Processors":1,"MemorySize":536870912,"KernelPath":"/k","InitrdPath":null,"CommandLine":"console=ttyS0","Disks":[]}""")!;
        Assert.Null(old.ToConfig().ProcessorVendor);
    }

    [Fact]
    public void An_unknown_vendor_is_refused_by_name()
    {
        var saved = SavedVmConfig.From(new VmConfig { KernelPath = "/k" }) with { ProcessorVendor = "CyrixInstead" };
        var e = Assert.Throws<InvalidDataException>(() => saved.ToConfig());
        Assert.Contains("CyrixInstead", e.Message);
    }
}
