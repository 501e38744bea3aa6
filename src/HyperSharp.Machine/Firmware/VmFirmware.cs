namespace HyperSharp.Machine.Firmware;

/// <summary>
/// The firmware a VM boots through instead of a host-supplied kernel: a system firmware image (Debian's SeaBIOS
/// bios.bin for Generation 1) and the boot order it is told through fw_cfg. Images with a variable store (OVMF)
/// will add their flash here.
/// </summary>
/// <param name="ImagePath">the firmware image, mapped below 4 GiB (its last 128 KiB also below 1 MiB)</param>
public sealed record VmFirmware(string ImagePath)
{
    /// <summary>Generation 1's firmware: SeaBIOS as Debian's seabios package installs it.</summary>
    public const string SeaBios = "/usr/share/seabios/bios.bin";

    /// <summary>Firmware device paths, first tried first; empty leaves the firmware's own order (disks as found).</summary>
    public IReadOnlyList<string> BootOrder { get; init; } = [];

    /// <summary>Milliseconds the firmware waits before rebooting when it finds nothing to boot; null: it never retries.</summary>
    public uint? BootFailWaitMs { get; init; }
}
