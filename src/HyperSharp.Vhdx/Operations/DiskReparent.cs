using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Vhdx.Operations;

/// <summary>Set-VHD -ParentPath: a differencing VHDX made the child of another parent that holds the same data (after a merge moved it there).</summary>
public static class DiskReparent
{
    /// <summary>
    /// Makes <paramref name="parentPath"/> the parent of <paramref name="childPath"/>. The parent must be a VHDX of the
    /// child's size and sector size; that it holds what the old parent held is the caller's to know (a merge's result).
    /// </summary>
    public static void SetParent(string childPath, string parentPath)
    {
        string parentFull = Path.GetFullPath(parentPath);
        Guid identity;
        long capacity;
        int sector;
        using (var parent = VirtualDisk.Open(parentFull, new DiskOpenOptions { ReadOnly = true, OpenParent = false }))
        {
            if (parent is not VhdxDisk vhdx) throw new VirtualDiskException($"{parentFull}: a {parent.Format} image cannot be the parent of a differencing VHDX");
            (identity, capacity, sector) = (vhdx.DataWriteGuid, vhdx.Capacity, vhdx.LogicalSectorSize);
        }
        using var child = VirtualDisk.Open(childPath, new DiskOpenOptions { OpenParent = false });
        if (child is not VhdxDisk disk) throw new VirtualDiskException($"{child.Path}: a {child.Format} image; only a differencing VHDX can change its parent here");
        if (disk.Capacity != capacity || disk.LogicalSectorSize != sector)
            throw new VirtualDiskException($"{child.Path}: {disk.Capacity} bytes in {disk.LogicalSectorSize}-byte sectors, but the new parent {parentFull} has {capacity} bytes in {sector}-byte sectors");
        VhdxReparent.Run(disk, parentFull, identity);
    }
}
