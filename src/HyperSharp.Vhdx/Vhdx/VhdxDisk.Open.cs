namespace HyperSharp.Vhdx.Vhdx;

public sealed partial class VhdxDisk
{
    private const int MaxChainDepth = 256;
    private const uint MaxReplayLogLength = 1024 * (uint)VhdxFormat.MiB;

    /// <summary>Opens an image; replays a pending log (in memory when read-only); opens the parent chain of a differencing disk.</summary>
    public static VhdxDisk Open(string path, DiskOpenOptions? options = null) =>
        Open(path, options ?? DiskOpenOptions.Default, new HashSet<string>(StringComparer.Ordinal));

    private static VhdxDisk Open(string path, DiskOpenOptions options, HashSet<string> chain)
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
                (header, slot) = ReplayLog(storage, header, slot);
                replayed = true;
            }
            var image = VhdxParser.ReadImage(storage, header, slot);
            if (options.Shared && image.Type != DiskType.Fixed)
                throw new VirtualDiskException($"{full}: a {image.Type.ToString().ToLowerInvariant()} VHDX cannot be shared by several writers (allocating its blocks would corrupt it under the others); convert it to a fixed VHDX to share it");
            var bat = LoadBat(storage, image);
            foreach (var problem in BatValidator.Validate(image, bat, storage.Length))
                throw VhdxParser.Corrupt(storage, $"BAT entry {problem.Index}", problem.EntryFileOffset, problem.Message);
            BatValidator.DropUnusableUnmappedOffsets(image, bat, storage.Length);
            IVirtualDisk? parent = null;
            string? parentPath = null;
            if (image.Geometry.HasParent && options.OpenParent)
                (parent, parentPath) = OpenParent(full, image, options, chain);
            return new VhdxDisk(storage, image, bat, parent) { ReplayedLog = replayed, ParentPath = parentPath };
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

    internal static VhdxDisk OpenForChain(string path, DiskOpenOptions options, HashSet<string> chain) => Open(path, options, chain);

    /// <summary>
    /// Replays the active log sequence: into the file (after updating FileWriteGuid, then clearing
    /// LogGuid), or, for a read-only open, into an in-memory overlay so the file is never written.
    /// </summary>
    private static (VhdxHeader, int) ReplayLog(VhdxStorage storage, VhdxHeader header, int slot)
    {
        if (header.LogLength > MaxReplayLogLength)
            throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset,
                $"the log to replay is {header.LogLength} bytes, more than the {MaxReplayLogLength >> 20} MiB this implementation accepts");
        var log = new byte[header.LogLength];
        storage.ReadData((long)header.LogOffset, log);
        var active = LogReplay.FindActive(log, header.LogGuid, out var error)
            ?? throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset, $"the header names log {header.LogGuid:B} but {error}");
        long fileLength = storage.Length;
        if (fileLength < active.FlushedFileOffset)
            throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset,
                $"the log's head entry records a flushed file size of {active.FlushedFileOffset} bytes but the file has {fileLength}: the file was truncated");
        long limit = Math.Max(fileLength, active.LastFileOffset);
        if (active.LastFileOffset > VhdxFormat.MaxVirtualDiskSize * 2)
            throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset, $"the head entry's last file offset {active.LastFileOffset} is absurd");
        long zeroTotal = 0;
        foreach (var w in active.Writes)
        {
            long length = w.Data?.Length ?? w.ZeroLength;
            bool inRegionTables = w.FileOffset >= VhdxFormat.RegionTable1Offset && w.FileOffset + length <= VhdxFormat.RegionTable2Offset + VhdxFormat.RegionTableSize;
            bool inLog = w.FileOffset < (long)header.LogOffset + header.LogLength && (long)header.LogOffset < w.FileOffset + length;
            if ((!inRegionTables && w.FileOffset < VhdxFormat.HeaderSectionSize) || inLog || w.FileOffset + length > limit)
                throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset,
                    $"a log descriptor writes {length} bytes at 0x{w.FileOffset:X}, outside the structures a log may update");
            zeroTotal += w.ZeroLength;
        }
        if (storage.ReadOnly)
        {
            if (zeroTotal > 256 * VhdxFormat.MiB)
                throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset, $"the log zeroes {zeroTotal} bytes, too much to replay in memory; open the image writable to replay it");
            storage.ApplyToOverlay(active.Writes);
            return (header, slot);
        }
        // Writable: FileWriteGuid changes before the first modification, the log replays, then LogGuid is cleared.
        var writer = new HeaderWriter(storage, header, slot);
        writer.Update(h => h with { FileWriteGuid = Guid.NewGuid() });
        foreach (var w in active.Writes)
        {
            if (w.Data is not null) storage.Write(w.FileOffset, w.Data);
            else
            {
                // Zeros past the end of the file need no writing (extending reads as zeros); inside it, punch
                // (written only where the file system cannot): a hostile terabyte of zeros must not mean a terabyte of writes.
                long inFile = Math.Min(w.ZeroLength, Math.Max(0, storage.Length - w.FileOffset));
                if (inFile > 0) HostFile.Zero(storage.Handle, w.FileOffset, inFile, keepAllocated: false);
            }
        }
        if (storage.Length < active.LastFileOffset)
        {
            try { storage.SetLength(active.LastFileOffset); }
            catch (Exception e) when (e is IOException or ArgumentOutOfRangeException) // EFBIG surfaces as either
            {
                throw new CorruptImageException(storage.Path, "log", (long)header.LogOffset,
                    $"replaying the log needs the file extended to {active.LastFileOffset} bytes (its last file offset), which failed: {e.Message}");
            }
        }
        storage.Flush();
        writer.Update(h => h with { LogGuid = Guid.Empty });
        return (writer.Current, writer.Slot);
    }
}
