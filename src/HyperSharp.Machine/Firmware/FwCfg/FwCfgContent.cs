using System.Buffers.Binary;
using HyperSharp.Machine.Boot;

namespace HyperSharp.Machine.Firmware.FwCfg;

/// <summary>
/// The fw_cfg files every firmware VM gets: the memory map ("etc/e820"), the ACPI tables and their loader script, the
/// boot order, how long to wait before retrying a failed boot, and the serial port for the firmware's console (so
/// SeaBIOS prints on COM1 with no display adapter).
/// </summary>
public static class FwCfgContent
{
    public const string E820File = "etc/e820", BootOrderFile = "bootorder", BootFailWaitFile = "etc/boot-fail-wait", SerialConsoleFile = "etc/sercon-port";

    /// <summary>SeaBIOS's "never retry" (it prints that no boot device was found and waits for a key).</summary>
    public const uint NeverRetry = uint.MaxValue;

    /// <param name="bootOrder">firmware device paths, first tried first ("/pci@i0cf8/scsi@4/disk@0,0"); empty leaves the firmware's own order</param>
    /// <param name="bootFailWaitMs">milliseconds before the firmware reboots after finding nothing to boot, or <see cref="NeverRetry"/></param>
    public static FwCfgItems For(MachineLayout layout, Acpi.PlatformLayout platform, IReadOnlyList<string> bootOrder, uint bootFailWaitMs = NeverRetry, ushort serialConsolePort = 0x3F8)
    {
        var items = new FwCfgItems(platform.ProcessorCount);
        items.AddFile(E820File, E820(layout));
        AcpiTableLoader.Add(items, platform);
        items.AddFile(BootFailWaitFile, BitConverter.GetBytes(bootFailWaitMs));
        items.AddFile(SerialConsoleFile, BitConverter.GetBytes(serialConsolePort));
        if (bootOrder.Count > 0) items.AddFile(BootOrderFile, System.Text.Encoding.ASCII.GetBytes(string.Join('\n', bootOrder) + "\0"));
        return items;
    }

    /// <summary>
    /// 20-byte entries (address, length, type; little-endian): all RAM below the PCI hole from 0 and above 4 GiB, and
    /// ECAM reserved. The firmware reserves its own areas (EBDA, BIOS, its tables) in the map it gives the OS.
    /// </summary>
    private static byte[] E820(MachineLayout layout)
    {
        var entries = new List<E820Entry> { new(0, layout.LowRamSize, E820Type.Ram), new(MachineLayout.EcamBase, MachineLayout.EcamSize, E820Type.Reserved) };
        if (layout.HighRamSize > 0) entries.Add(new(MachineLayout.HighRamStart, layout.HighRamSize, E820Type.Ram));
        var data = new byte[entries.Count * 20];
        for (int i = 0; i < entries.Count; i++)
        {
            var at = data.AsSpan(i * 20);
            BinaryPrimitives.WriteUInt64LittleEndian(at, entries[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(at[8..], entries[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(at[16..], (uint)entries[i].Type);
        }
        return data;
    }
}
