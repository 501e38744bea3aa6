using System.Numerics;
using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// Lays out a new VHD and writes it: fixed (data, footer) or dynamic and differencing (footer copy, dynamic
/// header, BAT, parent locator data, footer). The caller opens the result through the validating path.
/// </summary>
internal static class VhdCreator
{
    /// <summary>Offset of the BAT in the disks we create: after the footer copy (0) and the dynamic header (512).</summary>
    private const long CreatedTableOffset = VhdFooter.Size + VhdDynamicHeader.Size;

    /// <summary>Writes a fixed, dynamic or differencing VHD at <paramref name="path"/>; returns its full path.</summary>
    public static string Create(string path, DiskCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Format != DiskFormat.Vhd)
            throw new ArgumentException($"VhdDisk creates VHD images only; the options ask for {options.Format}", nameof(options));
        if (options.LogicalSectorSize != 512)
            throw new ArgumentException($"VHD has 512-byte sectors only; logical sector size {options.LogicalSectorSize} is not possible", nameof(options));
        if (options.PhysicalSectorSize is not (0 or 512))
            throw new ArgumentException($"VHD has no physical sector size field (it is always 512); {options.PhysicalSectorSize} is not possible", nameof(options));
        string full = System.IO.Path.GetFullPath(path);

        VhdDisk? parent = null;
        long capacity = options.Capacity;
        if (options.Type == DiskType.Differencing)
        {
            if (string.IsNullOrEmpty(options.ParentPath))
                throw new ArgumentException("a differencing disk needs ParentPath", nameof(options));
            string parentFull = System.IO.Path.GetFullPath(options.ParentPath);
            if (parentFull == full)
                throw new ArgumentException($"{full}: a differencing disk cannot be its own parent", nameof(options));
            parent = VhdDisk.Open(parentFull, DiskOpenOptions.ReadOnlyDefault);
            capacity = parent.Capacity;
        }
        try
        {
            CheckCapacity(capacity);
            int blockSize = options.BlockSize == 0 ? DiskCreateOptions.DefaultVhdBlockSize : options.BlockSize;
            if (options.Type != DiskType.Fixed &&
                (blockSize < 512 || blockSize > VhdDynamicHeader.MaxBlockSize || !BitOperations.IsPow2(blockSize)))
                throw new ArgumentException($"block size {blockSize} is not a power of two between 512 bytes and {VhdDynamicHeader.MaxBlockSize >> 20} MiB", nameof(options));

            using (var handle = File.OpenHandle(full, options.Overwrite ? FileMode.Create : FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                try
                {
                    if (options.Type == DiskType.Fixed) WriteFixed(handle, capacity);
                    else WriteSparse(handle, full, capacity, (uint)blockSize, parent);
                    RandomAccess.FlushToDisk(handle);
                }
                catch
                {
                    handle.Dispose();
                    File.Delete(full);
                    throw;
                }
            }
        }
        finally { parent?.Dispose(); }
        return full;
    }

    /// <summary>The capacities a VHD can have; a resize checks the same.</summary>
    public static void CheckCapacity(long capacity)
    {
        if (capacity <= 0 || capacity % 512 != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), $"capacity {capacity} must be a positive multiple of 512 bytes");
        if (capacity > VhdFooter.MaxCapacity)
            throw new ArgumentOutOfRangeException(nameof(capacity), $"capacity {capacity} exceeds the VHD maximum of 2040 GiB ({VhdFooter.MaxCapacity} bytes); use VHDX for larger disks");
    }

    /// <summary>Fixed: the data, then the footer. The data part is left sparse (reads as zeros).</summary>
    private static void WriteFixed(SafeFileHandle handle, long capacity)
    {
        RandomAccess.SetLength(handle, capacity + VhdFooter.Size);
        RandomAccess.Write(handle, VhdFooter.New(VhdFooter.FixedType, capacity, VhdFooter.NoDataOffset).ToBytes(), capacity);
    }

    /// <summary>
    /// Dynamic and differencing: footer copy, dynamic header, BAT (spare entries up to a whole
    /// sector, so small grows need no move), parent locator data, footer.
    /// </summary>
    private static void WriteSparse(SafeFileHandle handle, string path, long capacity, uint blockSize, VhdDisk? parent)
    {
        long blocks = (capacity + blockSize - 1) / blockSize;
        if (blocks > VhdDynamicHeader.MaxTableEntriesInMemory)
            throw new ArgumentException($"{capacity} bytes in {blockSize}-byte blocks needs {blocks} BAT entries, more than the " +
                $"{VhdDynamicHeader.MaxTableEntriesInMemory} supported; use a larger block size");
        int entries = (int)(VhdBat.TableBytes(Math.Max(1, blocks)) / 4);
        var bat = VhdBat.CreateEmpty(CreatedTableOffset, entries);
        long next = CreatedTableOffset + VhdBat.TableBytes(entries);
        var header = new VhdDynamicHeader { TableOffset = CreatedTableOffset, MaxTableEntries = (uint)entries, BlockSize = blockSize };
        var locatorData = new List<(long Offset, byte[] Data)>();
        uint type = VhdFooter.DynamicType;
        if (parent is not null)
        {
            type = VhdFooter.DifferencingType;
            header.ParentUniqueId = parent.UniqueIdBytes.ToArray();
            header.ParentTimeStamp = VhdTime.OfFile(parent.Path);
            header.ParentName = parent.Path;
            int slot = 0;
            string relative = System.IO.Path.GetRelativePath(System.IO.Path.GetDirectoryName(path)!, parent.Path);
            if (!System.IO.Path.IsPathRooted(relative))
                AddLocator(VhdParentLocator.W2ru, "./" + relative);
            AddLocator(VhdParentLocator.W2ku, parent.Path);

            void AddLocator(uint code, string p)
            {
                byte[] data = VhdParentLocator.EncodePath(p);
                long space = (data.Length + 511) / 512 * 512;
                header.Locators[slot++] = new VhdParentLocator(code, (uint)(space / 512), (uint)data.Length, next);
                locatorData.Add((next, data));
                next += space;
            }
        }
        var footer = VhdFooter.New(type, capacity, VhdFooter.Size);
        byte[] footerBytes = footer.ToBytes();
        RandomAccess.Write(handle, footerBytes, 0);
        RandomAccess.Write(handle, header.ToBytes(), VhdFooter.Size);
        RandomAccess.Write(handle, bat.ToBytes(), CreatedTableOffset);
        foreach (var (offset, data) in locatorData) RandomAccess.Write(handle, data, offset);
        RandomAccess.Write(handle, footerBytes, next);
    }
}
