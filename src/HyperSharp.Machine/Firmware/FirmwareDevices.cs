using HyperSharp.Machine.Acpi;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Firmware.FwCfg;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.State;

namespace HyperSharp.Machine.Firmware;

/// <summary>
/// What a firmware VM has that a kernel-boot VM does not: the image at the top of 4 GiB (read-only), its last 128 KiB
/// in RAM at 0xE0000 and the fw_cfg interface with the memory map, ACPI tables and boot order.
/// </summary>
/// <remarks>
/// The copy below 1 MiB is RAM, not ROM: SeaBIOS writes its own variables in the F segment, which on QEMU's chipsets it
/// first makes writable through the host bridge's PAM registers. Our host bridge has none, and SeaBIOS, finding no
/// bridge it knows, goes on with the area as it is (as it does on Xen, where it is RAM too).
/// </remarks>
public static class FirmwareDevices
{
    /// <summary>Where a firmware VM's PCI slot labels are read (between the local APICs and the 16 MiB below 4 GiB).</summary>
    public const uint SlotLabelBase = 0xFEF0_0000;

    public static void Attach(VmFirmware firmware, MachineLayout layout, PlatformLayout platform, GuestRam ram, IoBus<IPortIoDevice> ports,
        IoBus<IMmioDevice> mmio, DeviceStateRegistry devices, bool loadImage)
    {
        var image = FirmwareImage.Read(firmware.ImagePath);
        mmio.Add(image.Address, (ulong)image.Data.Length, new FirmwareRom(image));
        if (loadImage) ram.Write(FirmwareImage.LowAliasStart, image.LowAlias);
        var items = FwCfgContent.For(layout, platform, firmware.BootOrder, firmware.BootFailWaitMs ?? FwCfgContent.NeverRetry);
        var fwcfg = new FwCfgDevice(items, ram);
        ports.Add(FwCfgDevice.BasePort, FwCfgDevice.Length, fwcfg);
        devices.Add("fw-cfg", fwcfg.SaveState, fwcfg.RestoreState, optional: true);
    }
}
