using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Virtio.Net;

/// <summary>
/// Saved state of a virtio-net device: its address, link and how many queue pairs the driver enabled. Frames in
/// flight are lost, as on a real wire. Version 2 binary (1 was JSON).
/// </summary>
public sealed record VirtioNetState(string Mac, bool LinkUp, int ActivePairs) : IStateRecord<VirtioNetState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w) { w.String(Mac); w.Bool(LinkUp); w.I32(ActivePairs); }

    public static VirtioNetState Read(ref StateReader r, ushort version) => new(r.String(), r.Bool(), r.I32());
}
