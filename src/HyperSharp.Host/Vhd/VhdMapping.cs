using HyperSharp.Api.V1;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Host.Vhd;

/// <summary>Turns the storage library's descriptions into the API's VirtualHardDisk (Get-VHD's object).</summary>
internal static class VhdMapping
{
    public static VirtualHardDisk ToApi(DiskInfo info, IDiskAttachments? attachments) => new()
    {
        ComputerName = Environment.MachineName,
        Path = info.Path,
        VhdFormat = info.Format switch
        {
            DiskFormat.Vhdx => VhdFormat.Vhdx,
            DiskFormat.Vhd => VhdFormat.Vhd,
            _ => VhdFormat.Raw,
        },
        VhdType = ToApi(info.Type),
        FileSize = info.FileSize,
        Size = info.Capacity,
        MinimumSize = info.MinimumSize,
        LogicalSectorSize = info.LogicalSectorSize,
        PhysicalSectorSize = info.PhysicalSectorSize,
        BlockSize = info.BlockSize ?? 0,
        ParentPath = info.ParentPath ?? "",
        DiskIdentifier = info.DiskIdentifier is { } id ? id.ToString("D").ToUpperInvariant() : "",
        FragmentationPercentage = info.FragmentationPercentage ?? 0,
        Attached = attachments?.IsAttached(info.Path) ?? false,
    };

    public static VhdType ToApi(DiskType type) => type switch
    {
        DiskType.Fixed => VhdType.Fixed,
        DiskType.Dynamic => VhdType.Dynamic,
        _ => VhdType.Differencing,
    };

    /// <summary>The library's type for a request's; null for unspecified.</summary>
    public static DiskType? FromApi(VhdType type) => type switch
    {
        VhdType.Fixed => DiskType.Fixed,
        VhdType.Dynamic => DiskType.Dynamic,
        VhdType.Differencing => DiskType.Differencing,
        _ => null,
    };
}
