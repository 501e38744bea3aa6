namespace HyperSharp.Vhdx.Operations;

/// <summary>Helpers over a disk's parent chain (the disk itself first, its base image last).</summary>
public static class DiskChain
{
    /// <summary>The disk and its opened ancestors, top first.</summary>
    public static IReadOnlyList<IVirtualDisk> Layers(IVirtualDisk disk)
    {
        var layers = new List<IVirtualDisk>();
        for (var d = disk; d is not null; d = d.Parent) layers.Add(d);
        return layers;
    }

    /// <summary>The files of the chain, top first (opened read-only, then closed).</summary>
    public static IReadOnlyList<string> Paths(string path)
    {
        using var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        var paths = new List<string>();
        foreach (var layer in Layers(disk)) paths.Add(layer.Path);
        return paths;
    }
}
