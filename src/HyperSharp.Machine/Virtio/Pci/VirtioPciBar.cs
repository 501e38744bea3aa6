using HyperSharp.Machine.Devices;
using static HyperSharp.Machine.Virtio.Pci.VirtioPciLayout;

namespace HyperSharp.Machine.Virtio.Pci;

/// <summary>
/// BAR 0 of the virtio-pci transport: sends each access to the structure it falls in (common configuration, ISR,
/// device configuration, notify area, MSI-X table and pending bits). The device configuration and the notify
/// area are served without the transport's lock (the device and the queue gate order themselves); the rest under it.
/// </summary>
internal sealed class VirtioPciBar(VirtioPciDevice owner, IVirtioDevice device, VirtioCommonConfig common, MsixTable msix, Lock transportLock)
    : IMmioDevice
{
    public string Name => owner.Name + "-bar0";

    public void Read(ulong offset, Span<byte> data) => Read((int)offset, data);

    public void Write(ulong offset, ReadOnlySpan<byte> data) => Write((int)offset, data);

    private void Read(int offset, Span<byte> data)
    {
        data.Clear();
        if (offset is >= DeviceOffset and < DeviceOffset + DeviceLength) { device.ReadConfig(offset - DeviceOffset, data); return; }
        lock (transportLock)
        {
            switch (offset)
            {
                case >= CommonOffset and < CommonOffset + CommonLength: Put(data, common.Read(offset - CommonOffset)); break;
                case IsrOffset: data[0] = owner.TakeIsr(); break;
                case >= MsixTableOffset and < MsixPbaOffset: msix.ReadTable(offset - MsixTableOffset, data); break;
                case >= MsixPbaOffset and < (int)BarSize: msix.ReadPending(offset - MsixPbaOffset, data); break;
            }
        }
    }

    private void Write(int offset, ReadOnlySpan<byte> data)
    {
        if (offset is >= DeviceOffset and < DeviceOffset + DeviceLength) { device.WriteConfig(offset - DeviceOffset, data); return; }
        if (offset is >= NotifyOffset and < MsixTableOffset) { owner.Notify((offset - NotifyOffset) / NotifyMultiplier); return; }
        lock (transportLock)
        {
            if (offset is >= CommonOffset and < CommonOffset + CommonLength) common.Write(offset - CommonOffset, data);
            else if (offset is >= MsixTableOffset and < MsixPbaOffset && msix.WriteTable(offset - MsixTableOffset, data)) owner.DeliverPending();
        }
    }

    private static void Put(Span<byte> data, ulong value)
    {
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(value >> (8 * i));
    }
}
