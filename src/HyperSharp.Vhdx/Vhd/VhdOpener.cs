using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// Opens a VHD: footer, dynamic header and BAT are read and validated before anything else happens,
/// so a bad image is refused without a single write; then the parent chain of a differencing disk.
/// </summary>
internal static class VhdOpener
{
    /// <summary>Opens <paramref name="path"/>; <paramref name="chain"/> holds the children already open above it.</summary>
    public static VhdDisk Open(string path, DiskOpenOptions options, List<string> chain)
    {
        string full = System.IO.Path.GetFullPath(path);
        var handle = ImageFile.Open(full, options.ReadOnly ? FileAccess.Read : FileAccess.ReadWrite,
            options.ReadOnly ? FileShare.ReadWrite : FileShare.Read, blockDeviceAllowed: false, "VHD image");
        IVirtualDisk? parent = null;
        try
        {
            long length = RandomAccess.GetLength(handle);
            VhdFooter footer = ReadFooter(handle, full, length);
            if (options.Shared && footer.DiskType != VhdFooter.FixedType)
                throw new VirtualDiskException($"{full}: only a fixed VHD can be shared by several writers (allocating blocks of a dynamic or differencing one would corrupt it under the others)");
            if (footer.DiskType == VhdFooter.FixedType)
            {
                if ((long)footer.CurrentSize > length - VhdFooter.Size)
                    throw new CorruptImageException(full, "VHD footer", length - VhdFooter.Size + 48,
                        $"current size {footer.CurrentSize} bytes needs a file of {(long)footer.CurrentSize + VhdFooter.Size} bytes, but the file has {length} (truncated)");
                return new VhdDisk(full, handle, options.ReadOnly, footer, length - VhdFooter.Size, null, null, null);
            }
            bool differencing = footer.DiskType == VhdFooter.DifferencingType;
            VhdDynamicHeader header = ReadHeader(handle, full, footer, length, differencing);
            VhdBat bat = VhdBat.Load(handle, full, header, length,
                VhdDynamicHeader.BitmapBytes(header.BlockSize) + header.BlockSize, ReservedRanges(footer, header));
            if (differencing && options.OpenParent)
                parent = VhdParentChain.OpenParent(full, handle, header, options, chain);
            // Without its parent a differencing layer cannot merge partial sectors: inspect only.
            bool readOnly = options.ReadOnly || (differencing && parent is null);
            return new VhdDisk(full, handle, readOnly, footer, length - VhdFooter.Size, header, bat, parent);
        }
        catch
        {
            parent?.Dispose();
            handle.Dispose();
            throw;
        }
    }

    private static VhdFooter ReadFooter(SafeFileHandle handle, string path, long length)
    {
        if (length < VhdFooter.Size)
            throw new CorruptImageException(path, "VHD footer", 0, $"the file has {length} bytes, fewer than the 512-byte footer (truncated, or not a VHD)");
        var b = new byte[VhdFooter.Size];
        VhdIo.ReadExactly(handle, b, length - VhdFooter.Size, path, "VHD footer");
        return VhdFooter.Parse(b, path, length - VhdFooter.Size);
    }

    private static VhdDynamicHeader ReadHeader(SafeFileHandle handle, string path, VhdFooter footer, long length, bool differencing)
    {
        long footerAt = length - VhdFooter.Size;
        if (footer.DataOffset < VhdFooter.Size || footer.DataOffset > (ulong)Math.Max(0, footerAt - VhdDynamicHeader.Size))
            throw new CorruptImageException(path, "VHD footer", footerAt + 16,
                $"dynamic header offset 0x{footer.DataOffset:X} lies outside the file ({length} bytes)");
        long at = (long)footer.DataOffset;
        var b = new byte[VhdDynamicHeader.Size];
        VhdIo.ReadExactly(handle, b, at, path, "VHD dynamic header");
        var header = VhdDynamicHeader.Parse(b, path, at, length, differencing);
        if ((ulong)header.MaxTableEntries * header.BlockSize < footer.CurrentSize)
            throw new CorruptImageException(path, "VHD dynamic header", at + 28,
                $"{header.MaxTableEntries} BAT entries of {header.BlockSize} bytes cover less than the disk's {footer.CurrentSize} bytes");
        return header;
    }

    /// <summary>File ranges no data block may overlap: footer copy, dynamic header, BAT, parent locator data.</summary>
    private static List<(long, long, string)> ReservedRanges(VhdFooter footer, VhdDynamicHeader header)
    {
        var r = new List<(long, long, string)>
        {
            (0, VhdFooter.Size, "footer copy"),
            ((long)footer.DataOffset, VhdDynamicHeader.Size, "dynamic header"),
            (header.TableOffset, VhdBat.TableBytes(header.MaxTableEntries), "BAT"),
        };
        if (footer.DiskType == VhdFooter.DifferencingType)
        {
            for (int i = 0; i < header.Locators.Length; i++)
            {
                var l = header.Locators[i];
                if (l.IsUsed && l.DataLength > 0) r.Add((l.DataOffset, l.DataLength, $"parent locator {i} data"));
            }
        }
        return r;
    }
}
