using System.Numerics;
using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Vhdx;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Vhd;

/// <summary>Validation of VhdService requests: every wrong value is refused with INVALID_ARGUMENT naming its field and the allowed values.</summary>
internal static class VhdRequests
{
    /// <summary>An absolute path from a request field; INVALID_ARGUMENT naming the field when it is empty or relative.</summary>
    public static string AbsolutePath(string value, string parameter)
    {
        if (string.IsNullOrWhiteSpace(value)) throw HostErrors.Invalid(parameter, "is required");
        // The host does not share the client's working directory, so a relative path would mean something else here.
        if (!Path.IsPathFullyQualified(value)) throw HostErrors.Invalid(parameter, $"'{value}' must be an absolute path on the host");
        return Path.GetFullPath(value);
    }

    /// <summary>
    /// An existing image named by a request field (NOT_FOUND when it is missing): a regular file or a block device, never
    /// a FIFO or a character device, which the host would wait on for ever or read without end.
    /// </summary>
    public static string ExistingFile(string value, string parameter)
    {
        string path = VhdRequests.AbsolutePath(value, parameter);
        var status = FileStatus.Of(path) ?? throw HostErrors.NotFound($"{path}: no such file ({parameter})");
        if (status.Kind is not (FileKind.Regular or FileKind.BlockDevice))
            throw HostErrors.Invalid(parameter, $"'{path}' is {FileStatus.Describe(status.Kind)}, not a disk image");
        return path;
    }

    /// <summary>A file that must not exist yet, in a folder that does.</summary>
    public static string NewFile(string value, string parameter)
    {
        string path = VhdRequests.AbsolutePath(value, parameter);
        if (File.Exists(path) || Directory.Exists(path)) throw HostErrors.AlreadyExists($"{path}: the file already exists ({parameter}); choose another name or remove it first");
        string? folder = Path.GetDirectoryName(path);
        if (folder is not null && !Directory.Exists(folder)) throw HostErrors.NotFound($"{folder}: no such folder ({parameter})");
        return path;
    }

    /// <summary>What New-VHD asks for, checked field by field.</summary>
    public static DiskCreateOptions Create(NewVhdRequest request, string path)
    {
        var format = VirtualDisk.FormatFromExtension(path);
        // New-VHD makes VHDX or VHD files only, as Hyper-V's does; raw images come from Convert-VHD.
        if (format == DiskFormat.Raw)
            throw HostErrors.Invalid("path", $"'{path}' must end in .vhdx or .vhd (also .avhdx/.avhd for differencing disks)");
        bool hasParent = request.ParentPath.Length > 0;
        var type = VhdMapping.FromApi(request.Type) ?? (hasParent ? DiskType.Differencing : DiskType.Dynamic);
        if (type == DiskType.Differencing && !hasParent) throw HostErrors.Invalid("parent_path", "a differencing disk needs parent_path");
        if (type != DiskType.Differencing && hasParent) throw HostErrors.Invalid("parent_path", $"parent_path is only for differencing disks, not {type.ToString().ToLowerInvariant()} ones");
        string? parent = hasParent ? ExistingFile(request.ParentPath, "parent_path") : null;

        int logical = SectorSize(request.LogicalSectorSizeBytes, "logical_sector_size_bytes");
        int physical = SectorSize(request.PhysicalSectorSizeBytes, "physical_sector_size_bytes");
        if (format == DiskFormat.Vhd && (logical is not (0 or 512) || physical is not (0 or 512)))
            throw HostErrors.Invalid(logical is not (0 or 512) ? "logical_sector_size_bytes" : "physical_sector_size_bytes", "a VHD file has 512-byte sectors only; use .vhdx for 4096");
        if (type == DiskType.Differencing)
        {
            if (request.SizeBytes != 0) throw HostErrors.Invalid("size_bytes", "a differencing disk takes its size from the parent; leave size_bytes at 0");
        }
        else
        {
            int sector = logical == 0 ? 512 : logical;
            if (request.SizeBytes <= 0 || request.SizeBytes % sector != 0)
                throw HostErrors.Invalid("size_bytes", $"size_bytes {request.SizeBytes} must be a positive multiple of the {sector}-byte logical sector size");
        }
        return new DiskCreateOptions
        {
            Format = format,
            Type = type,
            Capacity = request.SizeBytes,
            BlockSize = BlockSize(request.BlockSizeBytes, format, "block_size_bytes"),
            LogicalSectorSize = logical == 0 ? 512 : logical,
            PhysicalSectorSize = physical,
            ParentPath = parent,
        };
    }

    /// <summary>A block size: 0 for the format's default, else a power of two the format allows.</summary>
    public static int BlockSize(long value, DiskFormat format, string parameter)
    {
        if (value == 0) return 0;
        (long min, long max, string range) = format == DiskFormat.Vhdx ? (1L << 20, 256L << 20, "1 MiB to 256 MiB") : (512L, 256L << 20, "512 bytes to 256 MiB");
        if (value < min || value > max || !BitOperations.IsPow2(value))
            throw HostErrors.Invalid(parameter, $"{parameter} {value} must be 0 (the default) or a power of two from {range}");
        return (int)value;
    }

    private static int SectorSize(int value, string parameter) =>
        value is 0 or 512 or 4096 ? value : throw HostErrors.Invalid(parameter, $"{parameter} {value} must be 512 or 4096 (0 for the default)");
}
