using HyperSharp.Inventory.Platform;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Inventory.Storage;

/// <summary>
/// A disk a VM is given, checked when it is attached (New-VM, Add-VMHardDiskDrive) and again before the worker starts:
/// a regular file or a block device (never a FIFO, a character device such as /dev/zero, or a folder), not empty,
/// that the storage library opens in the format its name says (.vhdx/.avhdx, .vhd/.avhd; anything else raw) with its
/// whole parent chain, and — for VHDX — whose structures pass the checker Test-VHD runs (a truncated image has blocks
/// beyond its end). Returns null, or the problem with the file named.
/// </summary>
public static class DiskImageCheck
{
    /// <summary>The file's kind and size only: cheap, for the worker's last look before it opens the disk.</summary>
    public static string? Kind(string path)
    {
        FileStatus status;
        try
        {
            var (handle, opened) = NonBlockingOpen.ForReading(path);
            handle.Dispose();
            status = opened;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return FileStatus.Of(path) is null ? $"'{path}' does not exist on the host" : $"cannot open the disk: {e.Message}";
        }
        if (status.Kind is not (FileKind.Regular or FileKind.BlockDevice))
            return $"'{path}' is {FileStatus.Describe(status.Kind)}; a disk must be a regular file (an image) or a block device";
        if (status.Kind == FileKind.Regular && status.Size == 0) return $"'{path}' is empty; a disk image has at least its format's headers";
        return null;
    }

    /// <summary>The kind, then the image itself through the storage library (<paramref name="thorough"/>: and the VHDX structure checker).</summary>
    public static string? Image(string path, bool thorough = true)
    {
        if (Kind(path) is { } wrongKind) return wrongKind;
        var format = VirtualDisk.FormatFromExtension(path);
        try
        {
            using (var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault, format == DiskFormat.Raw ? null : format))
                if (disk.Capacity <= 0) return $"'{path}': the disk has no capacity";
            if (thorough && format == DiskFormat.Vhdx && DiskCheck.Run(path, repair: false).Problems.FirstOrDefault(p => p.Severity == "error") is { } problem)
                return $"'{path}' is damaged: {problem.Structure} at 0x{problem.FileOffset:X}: {problem.Message} (Test-VHD shows every problem)";
            return null;
        }
        catch (Exception e) when (e is VirtualDiskException or IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return e.Message.Contains(path, StringComparison.Ordinal) ? e.Message : $"'{path}': {e.Message}";
        }
    }
}
