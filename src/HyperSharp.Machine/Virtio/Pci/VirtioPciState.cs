namespace HyperSharp.Machine.Virtio.Pci;

/// <summary>Saved state of one virtqueue: what the driver programmed and how far the device got.</summary>
public sealed record VirtioQueueState(ushort Size, ushort MsixVector, bool Enabled, ulong Descriptors, ulong Driver, ulong Device, ushort LastAvailable, ushort UsedIndex);

/// <summary>Saved state of a virtio-pci device, version 1: configuration space, negotiation, queues and MSI-X.</summary>
public sealed record VirtioPciState(byte[] ConfigSpace, ulong DriverFeatures, byte Status, byte Generation, byte Isr, ushort ConfigVector,
    ushort QueueSelect, VirtioQueueState[] Queues, byte[] MsixTable, byte[] MsixPending)
{
    public const int Version = 1;
}
