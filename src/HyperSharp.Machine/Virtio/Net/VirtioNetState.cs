namespace HyperSharp.Machine.Virtio.Net;

/// <summary>Saved state of a virtio-net device, version 1: its address, link and how many queue pairs the driver enabled. Frames in flight are lost, as on a real wire.</summary>
public sealed record VirtioNetState(string Mac, bool LinkUp, int ActivePairs)
{
    public const int Version = 1;
}
