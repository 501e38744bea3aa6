namespace HyperSharp.Machine.Virtio.Pci;

/// <summary>What the driver programmed for one queue through the common configuration.</summary>
internal sealed class VirtioQueueConfig(ushort maxSize)
{
    public ushort Size = maxSize;
    public ushort MsixVector = VirtioPciLayout.NoVector;
    public bool Enabled;
    public ulong Descriptors, Driver, Device;

    public void Reset(ushort maxSize) { Size = maxSize; MsixVector = VirtioPciLayout.NoVector; Enabled = false; Descriptors = Driver = Device = 0; }
}
