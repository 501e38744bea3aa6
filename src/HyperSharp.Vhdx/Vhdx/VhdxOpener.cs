namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// Opens a VHDX image: the file through the image gate, its identifier and headers, a pending log replayed
/// (<see cref="LogReplay"/>; in memory when read-only), the regions, metadata and BAT validated, and for a
/// differencing disk its parent chain, checked against the child's parent linkage.
/// </summary>
internal static class VhdxOpener
{
    private const int MaxChainDepth = 256;

    public static VhdxDisk Open(string path, DiskOpenOptions options, HashSet<string> chain)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!chain.Add(full))
            throw new VirtualDiskException($"{full}: the parent chain loops back to this file ({string.Join(" -> ", chain)} -> {full})");
        if (chain.Count > MaxChainDepth)
            throw new VirtualDiskException($"{full}: the parent chain is deeper than {MaxChainDepth} images");
        var handle = ImageFile.Open(full, options.ReadOnly ? FileAccess.Read : FileAccess.ReadWrite,
            options.ReadOnly ? FileShare.Read : options.Shared ? FileShare.ReadWrite : FileShare.None, blockDeviceAllowed: false, "VHDX image");
        var storage = new VhdxStorage(full, handle, options.ReadOnly);
        try
        {
            VhdxParser.CheckIdentifier(storage);
            var (header, slot) = VhdxParser.ReadHeaders(storage);
            bool replayed = false;
            if (header.LogGuid != Guid.Empty)
            {
                (header, slot) = LogReplay.Replay(storage, header, slot);
                replayed = true;
            }
            var image = VhdxParser.ReadImage(storage, header, slot);
            if (options.Shared && image.Type != DiskType.Fixed)
                throw new VirtualDiskException($"{full}: a {image.Type.ToString().ToLowerInvariant()} VHDX cannot be shared by several writers (allocating its blocks would corrupt it under the others); convert it to a fixed VHDX to share it");
            var bat = MetadataCache.LoadBat(storage, image);
            foreach (var problem in BatValidator.Validate(image, bat, storage.Length))
                throw VhdxParser.Corrupt(storage, $"BAT entry {problem.Index}", problem.EntryFileOffset, problem.Message);
            BatValidator.DropUnusableUnmappedOffsets(image, bat, storage.Length);
            IVirtualDisk? parent = null;
            string? parentPath = null;
            if (image.Geometry.HasParent && options.OpenParent)
                (parent, parentPath) = OpenParent(full, image, options, chain);
            return new VhdxDisk(storage, image, bat, parent, replayed, parentPath);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    private static (IVirtualDisk Parent, string Path) OpenParent(string childPath, VhdxImage image, DiskOpenOptions options, HashSet<string> chain)
    {
        var locator = image.ParentLocator!;
        var tried = new List<string>();
        foreach (var candidate in locator.CandidatePaths(System.IO.Path.GetDirectoryName(childPath)!))
        {
            tried.Add(candidate);
            if (!File.Exists(candidate)) continue;
            var parentOptions = options with { ReadOnly = true };
            var parent = VirtualDisk.OpenInChain(candidate, parentOptions, chain);
            try
            {
                if (!options.IgnoreParentIdentity && parent is not VhdxDisk)
                    throw new VirtualDiskException(
                        $"{childPath}: parent {candidate} is a {parent.Format} image, not a VHDX, so it cannot be the parent whose identity the child's parent_linkage names");
                if (!options.IgnoreParentIdentity && parent is VhdxDisk vhdxParent && !locator.Linkages().Contains(vhdxParent.DataWriteGuid))
                    throw new VirtualDiskException(
                        $"{childPath}: parent {candidate} has DataWriteGuid {vhdxParent.DataWriteGuid:B} but the child's parent_linkage is {locator.Entries[ParentLocator.LinkageKey]}: the parent changed after this differencing disk was created");
                if (parent.LogicalSectorSize != image.Geometry.LogicalSectorSize)
                    throw new VirtualDiskException($"{childPath}: parent {candidate} has {parent.LogicalSectorSize}-byte sectors, the child {image.Geometry.LogicalSectorSize}-byte sectors");
                return (parent, candidate);
            }
            catch
            {
                parent.Dispose();
                throw;
            }
        }
        throw new VirtualDiskException($"{childPath}: parent not found (tried: {string.Join(", ", tried.DefaultIfEmpty("no usable path in the parent locator"))})");
    }
}
