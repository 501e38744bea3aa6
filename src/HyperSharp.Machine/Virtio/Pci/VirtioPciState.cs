using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Virtio.Pci;

/// <summary>Saved state of one virtqueue: what the driver programmed and how far the device got.</summary>
public sealed record VirtioQueueState(ushort Size, ushort MsixVector, bool Enabled, ulong Descriptors, ulong Driver, ulong Device, ushort LastAvailable, ushort UsedIndex)
{
    internal const int EncodedSize = 2 + 2 + 1 + 8 + 8 + 8 + 2 + 2;

    internal void Write(StateWriter w)
    {
        w.U16(Size); w.U16(MsixVector); w.Bool(Enabled); w.U64(Descriptors); w.U64(Driver); w.U64(Device); w.U16(LastAvailable); w.U16(UsedIndex);
    }

    internal static VirtioQueueState Read(ref StateReader r) => new(r.U16(), r.U16(), r.Bool(), r.U64(), r.U64(), r.U64(), r.U16(), r.U16());
}

/// <summary>Saved state of a virtio-pci device: configuration space, negotiation, queues and MSI-X. Version 2 binary (1 was JSON).</summary>
public sealed record VirtioPciState(byte[] ConfigSpace, ulong DriverFeatures, byte Status, byte Generation, byte Isr, ushort ConfigVector,
    ushort QueueSelect, VirtioQueueState[] Queues, byte[] MsixTable, byte[] MsixPending) : IStateRecord<VirtioPciState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w)
    {
        w.Bytes(ConfigSpace); w.U64(DriverFeatures); w.U8(Status); w.U8(Generation); w.U8(Isr); w.U16(ConfigVector); w.U16(QueueSelect);
        w.Array(Queues, (w, q) => q.Write(w));
        w.Bytes(MsixTable); w.Bytes(MsixPending);
    }

    public static VirtioPciState Read(ref StateReader r, ushort version) =>
        new(r.Bytes(), r.U64(), r.U8(), r.U8(), r.U8(), r.U16(), r.U16(), r.Array(VirtioQueueState.EncodedSize, VirtioQueueState.Read), r.Bytes(), r.Bytes());
}
