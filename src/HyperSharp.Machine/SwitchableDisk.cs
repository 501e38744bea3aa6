using HyperSharp.Vhdx;

namespace HyperSharp.Machine;

/// <summary>
/// The image behind one of the VM's disks, which a checkpoint of the running VM replaces (by a new differencing child of
/// it) while the VM is paused: the block device keeps this object, and every call goes to the image it holds now.
/// </summary>
internal sealed class SwitchableDisk : IVirtualDisk
{
    private volatile IVirtualDisk _inner;

    public SwitchableDisk(IVirtualDisk inner)
    {
        _inner = inner;
        inner.CapacityChanged += Forward;
    }

    public IVirtualDisk Inner => _inner;

    /// <summary>Puts <paramref name="next"/> in place and returns the image it replaces (the caller's to close). Only while no I/O is in flight (the VM paused).</summary>
    public IVirtualDisk Switch(IVirtualDisk next)
    {
        var old = _inner;
        old.CapacityChanged -= Forward;
        next.CapacityChanged += Forward;
        _inner = next;
        return old;
    }

    public string Path => _inner.Path;
    public DiskFormat Format => _inner.Format;
    public DiskType Type => _inner.Type;
    public long Capacity => _inner.Capacity;
    public int LogicalSectorSize => _inner.LogicalSectorSize;
    public int PhysicalSectorSize => _inner.PhysicalSectorSize;
    public bool IsReadOnly => _inner.IsReadOnly;
    public IVirtualDisk? Parent => _inner.Parent;
    public event Action<IVirtualDisk>? CapacityChanged;

    public void Read(long offset, Span<byte> buffer) => _inner.Read(offset, buffer);
    public void Write(long offset, ReadOnlySpan<byte> buffer) => _inner.Write(offset, buffer);
    public void Flush() => _inner.Flush();
    public void Unmap(long offset, long length) => _inner.Unmap(offset, length);
    public DiskExtent GetExtent(long offset) => _inner.GetExtent(offset);
    public void Resize(long newCapacity, bool allowDataLoss = false) => _inner.Resize(newCapacity, allowDataLoss);
    public void Dispose() => _inner.Dispose();

    private void Forward(IVirtualDisk _) => CapacityChanged?.Invoke(this);
}
