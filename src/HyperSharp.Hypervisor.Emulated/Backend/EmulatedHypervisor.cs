namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>The Emulated backend: guests run on our software x86-64 processor, on any host .NET runs on.</summary>
public sealed class EmulatedHypervisor : IHypervisor
{
    public string Name => "emulated";

    public HypervisorAvailability Availability { get; } = HypervisorAvailability.Available("software x86-64 processor");

    public IPartition CreatePartition(PartitionOptions options) => new EmulatedPartition(options);
}
