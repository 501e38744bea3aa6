namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// Points a differencing VHDX at another parent (Set-VHD -ParentPath): its parent locator rewritten through the log with
/// the new parent's path and identity. Not a change of the disk's contents, so its DataWriteGuid stays and its own
/// children still match it.
/// </summary>
internal static class VhdxReparent
{
    public static void Run(VhdxDisk child, string parentPath, Guid parentDataWriteGuid)
    {
        if (child.IsReadOnly) throw new VirtualDiskException($"{child.Path}: the disk is open read-only");
        if (child.Image.ParentLocator is null) throw new VirtualDiskException($"{child.Path}: not a differencing disk; it has no parent to change");
        var locator = ParentLocator.For(child.Path, Path.GetFullPath(parentPath), parentDataWriteGuid);
        byte[] bytes = locator.Serialize();
        child.Log.EnsureModifiable(false);
        lock (child.Log.Lock)
        {
            var cache = child.Cache;
            lock (cache.Lock)
            {
                var image = child.Image;
                var entries = image.MetadataEntries.ToList();
                int index = entries.FindIndex(e => e.ItemId == VhdxFormat.ParentLocatorItem && !e.IsUser);
                var old = entries[index];
                // The new locator goes where the old one was when it fits, else after the last item: the old bytes stay
                // valid until the table that points at the new ones is committed together with them.
                uint offset = old.Offset;
                if (bytes.Length > old.Length)
                {
                    long end = entries.Max(e => (long)e.Offset + e.Length);
                    offset = (uint)VhdxFormat.RoundUp(end, 8);
                    if (offset + (long)bytes.Length > image.MetadataRegion.Length)
                        throw new VirtualDiskException($"{child.Path}: no room in the {image.MetadataRegion.Length}-byte metadata region for a {bytes.Length}-byte parent locator");
                }
                entries[index] = old with { Offset = offset, Length = (uint)bytes.Length };
                cache.WriteMetadataBytes(offset, bytes);
                var table = new byte[VhdxFormat.MetadataTableSize];
                MetadataTable.WriteTo(table, entries);
                cache.WriteMetadataBytes(0, table);
                child.Image = image with { MetadataEntries = entries, ParentLocator = locator };
            }
            child.Flush();
        }
    }
}
