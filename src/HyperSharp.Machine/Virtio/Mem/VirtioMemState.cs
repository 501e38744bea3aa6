using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Virtio.Mem;

/// <summary>
/// Saved state of a virtio-mem device: its region's size (a restore must rebuild the same), the size the host asks for, whether the region was mapped into the guest, and
/// which 2 MiB blocks the guest plugged (one bit each, block 0 in bit 0 of byte 0). The blocks' contents are guest
/// memory and travel with it. Its first version is 2, because version 1 of a device record means the JSON of
/// saved-state files of format 1.
/// </summary>
public sealed record VirtioMemState(ulong RegionSize, ulong RequestedSize, bool Mapped, byte[] Plugged) : IStateRecord<VirtioMemState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w)
    {
        w.U64(RegionSize); w.U64(RequestedSize); w.Bool(Mapped); w.Bytes(Plugged);
    }

    public static VirtioMemState Read(ref StateReader r, ushort version) => new(r.U64(), r.U64(), r.Bool(), r.Bytes());
}
