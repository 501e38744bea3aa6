using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// Finds and opens a differencing VHD's parent: relative locator (W2ru), then absolute (W2ku), then
/// the parent name field; checks the parent's identity and refuses chains that loop.
/// </summary>
internal static class VhdParentChain
{
    /// <summary>Deeper chains than this are refused: no real chain is, and it bounds a hostile one.</summary>
    public const int MaxDepth = 64;

    public static VhdDisk OpenParent(string childPath, SafeFileHandle handle, VhdDynamicHeader header,
        DiskOpenOptions options, List<string> chain)
    {
        chain.Add(Canonical(childPath));
        if (chain.Count > MaxDepth)
            throw new VirtualDiskException($"{childPath}: the parent chain is deeper than {MaxDepth} disks; it probably loops");
        var tried = new List<string>();
        foreach (string candidate in Candidates(childPath, handle, header))
        {
            if (tried.Contains(candidate)) continue;
            tried.Add(candidate);
            if (!File.Exists(candidate)) continue;
            if (ImageFile.KindOf(candidate) != ImageFileKind.Regular) { tried[^1] += " (not a file that can hold a disk)"; continue; }
            string canonical = Canonical(candidate);
            if (chain.Contains(canonical))
                throw new VirtualDiskException($"{childPath}: the parent chain loops: {string.Join(" -> ", chain)} -> {canonical}");
            var parentOptions = options with { ReadOnly = true };
            VhdDisk parent = VhdOpener.Open(candidate, parentOptions, chain);
            if (!options.IgnoreParentIdentity && !parent.UniqueIdBytes.AsSpan().SequenceEqual(header.ParentUniqueId))
            {
                var expected = new Guid(header.ParentUniqueId, bigEndian: true);
                parent.Dispose();
                throw new VirtualDiskException($"{childPath}: parent {candidate} has unique id {parent.UniqueId}, but this " +
                    $"differencing disk was made from {expected}: the parent was replaced or modified. Open with IgnoreParentIdentity to repair the chain.");
            }
            return parent;
        }
        throw new VirtualDiskException($"{childPath}: parent disk not found; tried: " +
            (tried.Count == 0 ? "(no parent locator or name)" : string.Join(", ", tried)));
    }

    /// <summary>Paths to try, in order; locator data was bounds-checked when the header was parsed.</summary>
    private static IEnumerable<string> Candidates(string childPath, SafeFileHandle handle, VhdDynamicHeader header)
    {
        string dir = System.IO.Path.GetDirectoryName(childPath)!;
        foreach (uint code in new[] { VhdParentLocator.W2ru, VhdParentLocator.W2ku })
        {
            foreach (var l in header.Locators)
            {
                if (l.PlatformCode != code || l.DataLength == 0) continue;
                var data = new byte[l.DataLength];
                VhdIo.ReadExactly(handle, data, l.DataOffset, childPath, "parent locator data");
                string p = VhdParentLocator.DecodePath(data);
                if (p.Length > 0 && p.IndexOf('\0') < 0) yield return System.IO.Path.GetFullPath(p, dir);
            }
        }
        string name = header.ParentName.Replace('\\', '/');
        if (name.Length > 0 && name.IndexOf('\0') < 0)
        {
            if (System.IO.Path.IsPathRooted(name)) yield return System.IO.Path.GetFullPath(name);
            yield return System.IO.Path.Combine(dir, System.IO.Path.GetFileName(name));
        }
    }

    /// <summary>The path with symbolic links resolved, so a loop through a link is still seen.</summary>
    private static string Canonical(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        try { return File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full; }
        catch (IOException) { return full; }
    }
}
