namespace HyperSharp.Vhdx.Operations;

/// <summary>What a range of a layered view resolves to: data in one layer, zeros, or the layers below the view.</summary>
internal enum ResolvedState { Data, Zero, Below }

/// <summary>A resolved run: <see cref="Length"/> bytes in <see cref="State"/>; for data, the index of the layer holding it.</summary>
internal readonly record struct ResolvedRun(long Length, ResolvedState State, int Layer);

/// <summary>
/// Resolves offsets of a stack of disk layers (top first) to the layer whose data a reader sees,
/// using each layer's extents (<see cref="IVirtualDisk.GetExtent"/>) so holes are never read.
/// Each layer's last extent is cached: extents of an upper layer are often much longer than the
/// ones below, and asking again at every step would rescan the same BAT entries.
/// </summary>
internal sealed class LayerResolver
{
    private readonly IReadOnlyList<IVirtualDisk> _layers;
    private readonly DiskExtent[] _cache;

    public LayerResolver(IReadOnlyList<IVirtualDisk> layers)
    {
        if (layers.Count == 0) throw new ArgumentException("at least one layer is needed", nameof(layers));
        _layers = layers;
        _cache = new DiskExtent[layers.Count];
    }

    /// <summary>Resolves the run starting at <paramref name="offset"/>, at most <paramref name="maxLength"/> bytes.</summary>
    public ResolvedRun Resolve(long offset, long maxLength)
    {
        long length = maxLength;
        for (int i = 0; i < _layers.Count; i++)
        {
            var layer = _layers[i];
            // A child grown past its parent reads zeros beyond the parent's end.
            if (offset >= layer.Capacity) return new ResolvedRun(length, ResolvedState.Zero, i);
            var extent = ExtentAt(i, offset);
            length = Math.Min(length, extent.Offset + extent.Length - offset);
            switch (extent.State)
            {
                case ExtentState.Data: return new ResolvedRun(length, ResolvedState.Data, i);
                case ExtentState.Zero: return new ResolvedRun(length, ResolvedState.Zero, i);
            }
        }
        return new ResolvedRun(length, ResolvedState.Below, _layers.Count);
    }

    private DiskExtent ExtentAt(int layer, long offset)
    {
        var cached = _cache[layer];
        if (cached.Length > 0 && offset >= cached.Offset && offset < cached.Offset + cached.Length) return cached;
        var extent = _layers[layer].GetExtent(offset);
        if (extent.Length <= 0 || extent.Offset > offset || extent.Offset + extent.Length <= offset)
            throw new VirtualDiskException($"{_layers[layer].Path}: the disk reported an empty or misplaced extent at offset {offset}");
        _cache[layer] = extent;
        return extent;
    }
}
