using System.Text.RegularExpressions;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Platform;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Host.Checkpoints;

/// <summary>
/// The differencing images checkpoints make: one per drive and checkpoint, named as Hyper-V names them
/// (NAME_GUID.avhdx beside the drive's image, NAME from the drive's first image), made all or none.
/// </summary>
internal static partial class CheckpointDiskFiles
{
    [GeneratedRegex("^(?<name>.+)_[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")]
    private static partial Regex Ours();

    /// <summary>Whether <paramref name="path"/> is an image a checkpoint made (so the tree may merge or delete it), not one a user attached.</summary>
    public static bool MadeByCheckpoint(string path) =>
        Path.GetExtension(path) is ".avhdx" or ".avhd" && Ours().IsMatch(Path.GetFileNameWithoutExtension(path));

    /// <summary>A new child's path beside <paramref name="image"/>: the first image's name, a new GUID, .avhdx (.avhd for a VHD).</summary>
    public static string ChildPath(string image)
    {
        string name = Path.GetFileNameWithoutExtension(image);
        if (MadeByCheckpoint(image)) name = Ours().Match(name).Groups["name"].Value;
        // By the name, not the contents: a running VM's worker holds the image open exclusively.
        string extension = VirtualDisk.FormatFromExtension(image) == DiskFormat.Vhd ? ".avhd" : ".avhdx";
        return Path.Combine(Path.GetDirectoryName(image)!, $"{name}_{Guid.NewGuid().ToString("D").ToUpperInvariant()}{extension}");
    }

    /// <summary>
    /// Checks that every drive's image is there and (with <paramref name="open"/>) opens with its parents — a problem names
    /// the drive and the file — so a checkpoint is refused before anything is made.
    /// </summary>
    public static string? Problem(IEnumerable<DiskSettings> disks, bool open = true)
    {
        foreach (var disk in disks)
        {
            if (disk.ReadOnly) return $"{disk.DriveName()} ({disk.Path}) is attached read-only (shared): a checkpoint cannot freeze a disk other writers may change";
            if (FileStatus.Of(disk.Path) is null) return $"{disk.DriveName()}: its image {disk.Path} does not exist";
            if (!open) continue;
            try { DiskChain.Paths(disk.Path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or VirtualDiskException or InvalidDataException or NotSupportedException)
            {
                return $"{disk.DriveName()}: {disk.Path} cannot be read: {e.Message}";
            }
        }
        return null;
    }

    /// <summary>
    /// A new differencing child of each image, owned as its parent is; all or none (a failure removes the ones made).
    /// Returns the children in the order of <paramref name="images"/>.
    /// </summary>
    public static List<string> CreateChildren(IReadOnlyList<string> images)
    {
        var made = new List<string>();
        try
        {
            foreach (var image in images)
            {
                string child = ChildPath(image);
                var format = VirtualDisk.FormatFromExtension(child);
                VirtualDisk.Create(child, new DiskCreateOptions { Format = format, Type = DiskType.Differencing, ParentPath = image }).Dispose();
                made.Add(child);
                if (FileStatus.Of(image) is { } owner && PosixIds.EffectiveUid == 0) Posix.Chown(child, (int)owner.Uid, (int)owner.Gid);
            }
            return made;
        }
        catch
        {
            foreach (var child in made) File.Delete(child);
            throw;
        }
    }
}
