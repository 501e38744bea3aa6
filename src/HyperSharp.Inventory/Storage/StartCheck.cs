using HyperSharp.Inventory;

namespace HyperSharp.Inventory.Storage;

/// <summary>
/// The last look at a VM's files before its worker starts: the same checks as when they were configured (kernel,
/// initrd, each disk opened by the storage library), because a file may have been replaced since — by a FIFO the
/// worker would wait on for ever, a device, a truncated copy. Cheaper than attach time: no full structure walk.
/// </summary>
public static class StartCheck
{
    /// <param name="arriving">
    /// The VM arrives by live migration: its source's worker holds the writable images (exclusively) until the pause, when
    /// the destination's worker opens them, so only their kind is looked at here; a problem with an image fails the move then.
    /// </param>
    public static string? Problem(VmConfiguration config, bool arriving = false)
    {
        var boot = config.Boot;
        if (boot.Firmware == BootFirmware.None) // a firmware VM loads what its disks hold, checked with them below
        {
            if (BootFileCheck.Kernel(boot.KernelPath) is { } kernel) return $"its kernel: {kernel}";
            if (!string.IsNullOrEmpty(boot.InitrdPath) && BootFileCheck.Initrd(boot.InitrdPath) is { } initrd) return $"its initrd: {initrd}";
            if (BootFileCheck.FitsInMemory(boot.KernelPath, boot.InitrdPath, config.Memory.StartupBytes) is { } memory) return memory;
        }
        foreach (var disk in config.Disks)
            if ((arriving && !disk.ReadOnly ? DiskImageCheck.Kind(disk.Path) : DiskImageCheck.Image(disk.Path, thorough: false)) is { } problem) return $"its disk: {problem}";
        return null;
    }
}
