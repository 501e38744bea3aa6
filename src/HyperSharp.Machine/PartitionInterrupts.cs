using HyperSharp.Hypervisor;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Virtio;

namespace HyperSharp.Machine;

/// <summary>A device interrupt line wired to a GSI of the partition's interrupt controllers.</summary>
internal sealed class PartitionInterruptLine(IPartition partition, uint gsi) : IInterruptLine
{
    public void Set(bool asserted) => partition.SetInterruptLine(gsi, asserted);
}

/// <summary>MSI messages from devices delivered through the partition.</summary>
internal sealed class PartitionMsiSink(IPartition partition) : IMsiSink
{
    public void Signal(ulong address, uint data) => partition.SignalMsi(address, data);
}
