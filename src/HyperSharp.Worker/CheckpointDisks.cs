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
    /// its state names). The nearest descendant wins. Anything else stays as named, and opening it says what is wrong.
    /// </summary>
    public static Func<string, string> RestoredPath(VmConfiguration config) => image =>
    {
        if (config.Disks.Any(d => d.Path == image)) return image;
        string found = image;
        int nearest = int.MaxValue;
        foreach (var drive in config.Disks)
        {
            try
            {
                var chain = DiskChain.Paths(drive.Path);
                for (int depth = 1; depth < chain.Count && depth < nearest; depth++)
                    if (chain[depth] == image) (found, nearest) = (drive.Path, depth);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or VirtualDiskException or InvalidDataException) { }
        }
        return found;
    };
}
