using HyperSharp.Inventory;
using HyperSharp.Worker;
using HyperSharp.Inventory.Workers;
using HyperSharp.Hypervisor;

namespace HyperSharp.Host.Tests;

/// <summary>The stored configuration's processor settings reach the machine the worker builds.</summary>
public class MachineConfigurationTests
{
    [Fact]
    public void The_processor_vendor_flows_to_the_machine_and_defaults_to_the_backends()
    {
        VmConfiguration Config(ProcessorVendor? vendor) => new()
        {
            Id = Guid.NewGuid(), Name = "v", Processor = new ProcessorSettings { Count = 2, Vendor = vendor },
            Boot = new BootSettings { KernelPath = "/k" },
        };
        var amd = MachineConfiguration.From(Config(ProcessorVendor.Amd), _ => { }, _ => { });
        Assert.Equal((2, ProcessorVendor.Amd), (amd.Processors, amd.ProcessorVendor));
        Assert.Null(MachineConfiguration.From(Config(null), _ => { }, _ => { }).ProcessorVendor);
    }
}
