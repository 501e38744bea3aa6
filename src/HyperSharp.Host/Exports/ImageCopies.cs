using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Host.Exports;

/// <summary>
/// Copies images with their whole differencing chains into one folder and points each copied child at its copied
/// parent (Set-VHD -ParentPath's DiskReparent), so the copies never reach back to the files they came from. Each file
/// keeps its name (a checkpoint's NAME_GUID.avhdx stays one); two sources of one name in different folders get -2, -3...
/// A file already at the target is refused, never overwritten.
/// </summary>
internal static class ImageCopies
{
    /// <summary>
    /// Copies every image of the chains of <paramref name="images"/> into <paramref name="folder"/>; what it made is added
    /// to <paramref name="made"/> (for the caller to remove on failure). Returns each source image's copy.
    /// </summary>
    public static Dictionary<string, string> Copy(IEnumerable<string> images, string folder, List<string> made)
    {
        var parentOf = new Dictionary<string, string?>();
        foreach (var image in images.Distinct())
        {
            var chain = DiskChain.Paths(image);
            for (int i = 0; i < chain.Count; i++) parentOf[chain[i]] = i + 1 < chain.Count ? chain[i + 1] : null;
        }
        var copies = new Dictionary<string, string>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var source in parentOf.Keys)
        {
            string target = Path.Combine(folder, UniqueName(Path.GetFileName(source), names));
            if (File.Exists(target) || Directory.Exists(target)) throw new IOException($"{target} already exists; an import or export never overwrites a file");
            made.Add(target);
            File.Copy(source, target, overwrite: false);
            copies[source] = target;
        }
        foreach (var (child, parent) in parentOf)
            if (parent is not null) DiskReparent.SetParent(copies[child], copies[parent]);
        return copies;
    }

    private static string UniqueName(string name, HashSet<string> taken)
    {
        string candidate = name;
        for (int n = 2; !taken.Add(candidate); n++) candidate = $"{Path.GetFileNameWithoutExtension(name)}-{n}{Path.GetExtension(name)}";
        return candidate;
    }

    /// <summary>Whether an exception is one a copy of images can meet (a file, a format, a permission): the callers turn these into errors naming the VM.</summary>
    public static bool IsCopyFailure(Exception e) =>
        e is IOException or UnauthorizedAccessException or VirtualDiskException or InvalidDataException or NotSupportedException;
}
