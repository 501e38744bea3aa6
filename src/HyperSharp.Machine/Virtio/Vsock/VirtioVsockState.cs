namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// Saved state of a virtio-vsock device: its format version and the guest's CID. Connections are not saved: both
/// the saving device and the restored one reset them (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET), as the spec intends
/// for a migrated guest, and the host ends see their sockets close.
/// </summary>
public sealed record VirtioVsockState(int Version, ulong GuestCid)
{
    public const int CurrentVersion = 1;
}
