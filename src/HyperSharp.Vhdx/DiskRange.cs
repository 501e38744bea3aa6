namespace HyperSharp.Vhdx;

/// <summary>Argument checks every disk format applies to a request, with messages that say what was wrong.</summary>
internal static class DiskRange
{
    public static void Check(IVirtualDisk disk, long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > disk.Capacity - length)
            throw OutOfRange(disk, offset, length);
    }

    public static void CheckWritable(IVirtualDisk disk, long offset, long length)
    {
        if (disk.IsReadOnly) throw new VirtualDiskException($"{disk.Path}: the disk is open read-only");
        Check(disk, offset, length);
    }

    public static ArgumentOutOfRangeException OutOfRange(IVirtualDisk disk, long offset, long length) =>
        new(nameof(offset), $"{disk.Path}: the range at offset {offset} of {length} bytes is outside the disk (capacity {disk.Capacity} bytes)");
}
