using HyperSharp.Inventory;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Worker;

/// <summary>Where a VM restored from a checkpoint's saved state finds its disks.</summary>
internal static class CheckpointDisks
{
    /// <summary>
    /// Maps an image a saved state names to the drive the VM has now: the same file (a Save-VM's state), or the drive
    /// whose image descends from it (a checkpoint's state names its frozen images; restoring the checkpoint gave each
    /// drive a new child of one; checkpoints of a Saved VM put one new, still empty, child per checkpoint over the images
    /// its state names). The nearest descendant wins. A state that came with an imported VM names the images where
    /// they were on the exporting host: then the drive whose chain has an image of that file name (an export and an
    /// import's copy keep the names). Anything else stays as named, and opening it says what is wrong.
    /// </summary>
    public static Func<string, string> RestoredPath(VmConfiguration config) => image =>
    {
        if (config.Disks.Any(d => d.Path == image)) return image;
        string name = Path.GetFileName(image);
        return Nearest(config, member => member == image, from: 1) ?? Nearest(config, member => Path.GetFileName(member) == name, from: 0) ?? image;
    };

    /// <summary>The drive with a chain member at depth <paramref name="from"/> or deeper that <paramref name="matches"/>, the one where it is least deep.</summary>
    private static string? Nearest(VmConfiguration config, Func<string, bool> matches, int from)
    {
        string? found = null;
        int nearest = int.MaxValue;
        foreach (var drive in config.Disks)
        {
            try
            {
                var chain = DiskChain.Paths(drive.Path);
                for (int depth = from; depth < chain.Count && depth < nearest; depth++)
                    if (matches(chain[depth])) (found, nearest) = (drive.Path, depth);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or VirtualDiskException or InvalidDataException) { }
        }
        return found;
    }
}
