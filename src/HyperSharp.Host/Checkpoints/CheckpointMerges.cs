using HyperSharp.Inventory;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Host.Checkpoints;

/// <summary>
/// Folds away the checkpoint images nothing needs any more, as Hyper-V does after Remove-VMSnapshot or a restore: an
/// image that no checkpoint and no drive refers to is deleted when no image has it as parent, and gets its one child
/// merged into it when one does (the child's children then point at it, and so does whatever referred to the child).
/// An image with several children stays until all but one are gone. Images a user attached are never merged away or
/// deleted; only those a checkpoint made (<see cref="CheckpointDiskFiles.MadeByCheckpoint"/>).
/// </summary>
internal static class CheckpointMerges
{
    /// <summary>
    /// Collects what <paramref name="config"/> no longer needs, starting from <paramref name="released"/> (images a
    /// removed checkpoint or a discarded state referred to) and the images inside the chains. While the drives' chains
    /// must stay as they are (<paramref name="drivesInUse"/>: a saved state names them) those merges wait, and are
    /// returned as sentences. Returns the configuration with its references moved onto the merged images.
    /// </summary>
    public static (VmConfiguration Config, List<string> Pending) Collect(VmConfiguration config, IEnumerable<string> released, bool drivesInUse, Action<string> log)
    {
        var pending = new List<string>();
        var candidates = new HashSet<string>(released);
        for (bool changed = true; changed;)
        {
            changed = false;
            pending.Clear();
            var referenced = References(config).ToHashSet();
            var parentOf = new Dictionary<string, string>();
            var drivesChains = new HashSet<string>();
            foreach (var image in referenced)
            {
                var chain = DiskChain.Paths(image);
                for (int i = 0; i + 1 < chain.Count; i++) parentOf[chain[i]] = chain[i + 1];
            }
            foreach (var drive in config.Disks) drivesChains.UnionWith(DiskChain.Paths(drive.Path));
            candidates.UnionWith(parentOf.Values);
            foreach (var image in candidates.Where(c => !referenced.Contains(c)).ToList())
            {
                var children = parentOf.Where(p => p.Value == image).Select(p => p.Key).ToList();
                if (children.Count == 0)
                {
                    if (CheckpointDiskFiles.MadeByCheckpoint(image) && File.Exists(image))
                    {
                        File.Delete(image);
                        log($"deleted {image}: no checkpoint and no drive needs it any more");
                    }
                    candidates.Remove(image);
                    continue;
                }
                if (children.Count > 1 || !CheckpointDiskFiles.MadeByCheckpoint(children[0])) continue;
                string child = children[0];
                if (drivesInUse && drivesChains.Contains(child))
                {
                    pending.Add($"{child} is to be merged into {image} once the VM is off (its saved state names the disk)");
                    continue;
                }
                DiskMerge.MergeIntoAncestor(child, image, deleteMerged: false);
                foreach (var grandchild in parentOf.Where(p => p.Value == child).Select(p => p.Key)) DiskReparent.SetParent(grandchild, image);
                File.Delete(child);
                log($"merged {child} into {image}");
                config = Replace(config, child, image);
                candidates.Remove(image);
                changed = true;
                break;
            }
        }
        return (config, pending);
    }

    /// <summary>Every image the tree or the drives refer to.</summary>
    public static IEnumerable<string> References(VmConfiguration config) =>
        config.Checkpoints.SelectMany(c => c.Disks.Select(d => d.Path)).Concat(config.Disks.Select(d => d.Path));

    private static VmConfiguration Replace(VmConfiguration config, string from, string to) => config with
    {
        Disks = [.. config.Disks.Select(d => d.Path == from ? d with { Path = to } : d)],
        Checkpoints = [.. config.Checkpoints.Select(c => c with { Disks = [.. c.Disks.Select(d => d.Path == from ? d with { Path = to } : d)] })],
    };
}
