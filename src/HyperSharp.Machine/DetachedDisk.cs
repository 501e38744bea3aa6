using HyperSharp.Vhdx;

namespace HyperSharp.Machine;

/// <summary>
/// Stands in, during a live migration's disk handover, for a writable image this process does not hold: on the source once it
/// closed the image for the destination, on the destination until the source has. The VM is paused (or not yet running)
/// whenever one is in place, so no request reaches it; one that did would fail here rather than touch a file another
/// process may be writing. It keeps the geometry the image had, so the device reads the same.
/// </summary>
internal sealed class DetachedDisk(string path, long capacity = 0, int logicalSectorSize = 512, int physicalSectorSize = 512,
    DiskFormat format = DiskFormat.Vhdx, DiskType type = DiskType.Dynamic) : IVirtualDisk
{
    /// <summary>A stand-in with the geometry of <paramref name="image"/>, which the caller is about to close.</summary>
    public static DetachedDisk Of(IVirtualDisk image) =>
        new(image.Path, image.Capacity, image.LogicalSectorSize, image.PhysicalSectorSize, image.Format, image.Type);

    public string Path => path;
    public DiskFormat Format => format;
    public DiskType Type => type;
    public long Capacity => capacity;
    public int LogicalSectorSize => logicalSectorSize;
    public int PhysicalSectorSize => physicalSectorSize;
    public bool IsReadOnly => false;
    public IVirtualDisk? Parent => null;
    public event Action<IVirtualDisk>? CapacityChanged { add { } remove { } }

    public void Read(long offset, Span<byte> buffer) => throw NotHere();
    public void Write(long offset, ReadOnlySpan<byte> buffer) => throw NotHere();
    public void Flush() => throw NotHere();
    public void Unmap(long offset, long length) => throw NotHere();
    public DiskExtent GetExtent(long offset) => throw NotHere();
    public void Resize(long newCapacity, bool allowDataLoss = false) => throw NotHere();
    public void Dispose() { }

    private IOException NotHere() => new($"{path} is not open in this process: it is being handed over by live migration");
}
