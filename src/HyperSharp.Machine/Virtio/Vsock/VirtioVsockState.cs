using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// Saved state of a virtio-vsock device: the guest's CID. Connections are not saved: both the saving device and the
/// restored one reset them (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET), as the spec intends for a migrated guest, and the
/// host ends see their sockets close. Its first version is 2, because version 1 of a device record means the JSON
/// of saved-state files of format 1, which never held this device.
/// </summary>
public sealed record VirtioVsockState(ulong GuestCid) : IStateRecord<VirtioVsockState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w) => w.U64(GuestCid);

    public static VirtioVsockState Read(ref StateReader r, ushort version) => new(r.U64());
}
