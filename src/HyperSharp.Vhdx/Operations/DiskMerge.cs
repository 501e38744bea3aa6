namespace HyperSharp.Vhdx.Operations;

/// <summary>
/// Merge-VHD: folds a differencing disk into its parent, or into a named ancestor (every layer in
/// between is folded too), then deletes the merged files as Hyper-V does; or writes the whole
/// chain into a new standalone image.
/// </summary>
public static class DiskMerge
{
    /// <summary>
    /// Merges <paramref name="childPath"/> into its parent, or into <paramref name="destinationPath"/>
    /// when that names an ancestor. Returns the destination's path. Progress counts bytes of the
    /// child's capacity done. If the merge fails half way, the destination holds part of the
    /// child's data and the child no longer matches it (the same as an interrupted Hyper-V merge):
    /// the child files are deleted only after the destination was flushed; with <paramref name="deleteMerged"/> false they
    /// stay, for a caller that first points the merged files' own children at the destination.
    /// </summary>
    public static string MergeIntoAncestor(string childPath, string? destinationPath = null,
        IProgress<long>? progress = null, CancellationToken cancel = default, bool deleteMerged = true)
    {
        var chain = DiskChain.Paths(childPath);
        if (chain.Count < 2)
            throw new VirtualDiskException($"{chain[0]}: not a differencing disk; there is nothing to merge it into");
        int destination = 1;
        if (destinationPath is not null)
        {
            string full = Path.GetFullPath(destinationPath);
            destination = IndexOf(chain, full);
            if (destination < 1)
                throw new VirtualDiskException($"{full}: not an ancestor of {chain[0]} (its chain is {string.Join(" -> ", chain)})");
        }
        var layers = new List<IVirtualDisk>();
        try
        {
            // Each merged layer is opened alone (without its parents), so the destination can be opened for writing.
            var layerOptions = new DiskOpenOptions { ReadOnly = true, OpenParent = false };
            for (int i = 0; i < destination; i++) layers.Add(VirtualDisk.Open(chain[i], layerOptions));
            long capacity = layers[0].Capacity;
            using (var target = VirtualDisk.Open(chain[destination]))
            {
                if (target.Capacity < capacity) target.Resize(capacity);
                new ExtentCopier(layers, target, targetIsFresh: false, progress).Copy(capacity, cancel);
                target.Flush();
            }
        }
        finally
        {
            foreach (var layer in layers) layer.Dispose();
        }
        if (deleteMerged) for (int i = 0; i < destination; i++) File.Delete(chain[i]);
        return chain[destination];
    }

    /// <summary>Writes the whole chain of <paramref name="childPath"/> into a new standalone image; the chain is left as it is.</summary>
    public static void MergeToNewImage(string childPath, string newPath, ConvertOptions? options = null,
        IProgress<long>? progress = null, CancellationToken cancel = default) =>
        DiskConvert.Convert(childPath, newPath, options, progress, cancel);

    private static int IndexOf(IReadOnlyList<string> chain, string path)
    {
        for (int i = 0; i < chain.Count; i++) if (chain[i] == path) return i;
        return -1;
    }
}
