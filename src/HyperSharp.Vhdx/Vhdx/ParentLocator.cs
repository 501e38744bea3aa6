using System.Buffers.Binary;
using System.Text;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// The VHDX parent locator: key/value pairs (UTF-16) naming the parent's identity (parent_linkage)
/// and where to find it (relative_path, volume_path, absolute_win32_path).
/// </summary>
internal sealed class ParentLocator
{
    public const string LinkageKey = "parent_linkage";
    public const string Linkage2Key = "parent_linkage2";
    public const string RelativePathKey = "relative_path";
    public const string VolumePathKey = "volume_path";
    public const string AbsolutePathKey = "absolute_win32_path";

    public Dictionary<string, string> Entries { get; } = new(StringComparer.Ordinal);

    public static ParentLocator? TryParse(ReadOnlySpan<byte> item, out string? error)
    {
        error = null;
        if (item.Length < 20) { error = $"item is {item.Length} bytes, shorter than its 20-byte header"; return null; }
        var type = new Guid(item[..16]);
        if (type != VhdxFormat.VhdxParentLocatorType) { error = $"locator type {type} is not the VHDX locator type"; return null; }
        int count = BinaryPrimitives.ReadUInt16LittleEndian(item[18..]);
        if (20 + count * 12 > item.Length) { error = $"{count} key/value entries do not fit in the {item.Length}-byte item"; return null; }
        var locator = new ParentLocator();
        for (int i = 0; i < count; i++)
        {
            var e = item.Slice(20 + i * 12, 12);
            uint keyOffset = BinaryPrimitives.ReadUInt32LittleEndian(e), valueOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
            ushort keyLength = BinaryPrimitives.ReadUInt16LittleEndian(e[8..]), valueLength = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            if (keyOffset == 0 || valueOffset == 0 || keyLength == 0 || valueLength == 0 ||
                keyOffset + (long)keyLength > item.Length || valueOffset + (long)valueLength > item.Length || (keyLength | valueLength) % 2 != 0)
            { error = $"entry {i} (key at {keyOffset}+{keyLength}, value at {valueOffset}+{valueLength}) lies outside the item or is malformed"; return null; }
            string key = Encoding.Unicode.GetString(item.Slice((int)keyOffset, keyLength));
            string value = Encoding.Unicode.GetString(item.Slice((int)valueOffset, valueLength));
            if (key.Contains('\0') || value.Contains('\0')) { error = $"entry {i} (key '{key.Replace("\0", "\\0")}') contains a NUL character"; return null; }
            if (!locator.Entries.TryAdd(key, value)) { error = $"entry {i} repeats key '{key}'"; return null; }
        }
        if (!locator.Entries.ContainsKey(LinkageKey)) { error = "no parent_linkage entry"; return null; }
        return locator;
    }

    public byte[] Serialize()
    {
        var pairs = Entries.ToList();
        int offset = 20 + pairs.Count * 12;
        var blob = new List<byte>();
        var table = new byte[offset];
        VhdxFormat.VhdxParentLocatorType.TryWriteBytes(table);
        BinaryPrimitives.WriteUInt16LittleEndian(table.AsSpan(18), (ushort)pairs.Count);
        for (int i = 0; i < pairs.Count; i++)
        {
            byte[] key = Encoding.Unicode.GetBytes(pairs[i].Key), value = Encoding.Unicode.GetBytes(pairs[i].Value);
            var e = table.AsSpan(20 + i * 12);
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)(offset + blob.Count));
            blob.AddRange(key);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], (uint)(offset + blob.Count));
            blob.AddRange(value);
            BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)key.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)value.Length);
        }
        return [.. table, .. blob];
    }

    /// <summary>The identities the parent's DataWriteGuid may match.</summary>
    public IEnumerable<Guid> Linkages()
    {
        foreach (var key in new[] { LinkageKey, Linkage2Key })
            if (Entries.TryGetValue(key, out var v) && Guid.TryParse(v, out var g)) yield return g;
    }

    /// <summary>Candidate parent paths in the order the spec requires: relative, volume, absolute.</summary>
    public IEnumerable<string> CandidatePaths(string childDirectory)
    {
        if (Entries.TryGetValue(RelativePathKey, out var rel))
            yield return Path.GetFullPath(Path.Combine(childDirectory, ToHostPath(rel)));
        foreach (var key in new[] { VolumePathKey, AbsolutePathKey })
            if (Entries.TryGetValue(key, out var abs))
            {
                string host = ToHostPath(abs.StartsWith(@"\\?\", StringComparison.Ordinal) ? abs[4..] : abs);
                if (host.Length > 1 && host[1] == ':') continue; // a Windows drive path cannot resolve on this host
                yield return host.StartsWith('/') ? host : "/" + host;
            }
    }

    public static string ToHostPath(string windowsPath) => windowsPath.Replace('\\', '/');

    public static string ToLocatorPath(string hostPath) => hostPath.Replace('/', '\\');

    /// <summary>A locator for a new child: the parent's identity, its path relative to the child, and its absolute path.</summary>
    public static ParentLocator For(string childPath, string parentPath, Guid parentDataWriteGuid)
    {
        var locator = new ParentLocator();
        locator.Entries[LinkageKey] = parentDataWriteGuid.ToString("B");
        string relative = Path.GetRelativePath(Path.GetDirectoryName(childPath)!, parentPath);
        locator.Entries[RelativePathKey] = ToLocatorPath(relative);
        locator.Entries[AbsolutePathKey] = @"\\?\" + ToLocatorPath(parentPath.TrimStart('/'));
        return locator;
    }
}
