using HyperSharp.Machine.Devices;

namespace HyperSharp.Machine.Firmware;

/// <summary>
/// The firmware image at the top of 4 GiB as the guest's data accesses see it: reads give the image, writes are
/// dropped (it is ROM). SeaBIOS reads its pristine copy from here when it reboots the machine.
/// </summary>
public sealed class FirmwareRom(FirmwareImage image) : IMmioDevice
{
    public string Name => "firmware-rom";

    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++) data[i] = offset + (ulong)i < (ulong)image.Data.Length ? image.Data[offset + (ulong)i] : (byte)0xFF;
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data) { }
}
