namespace HyperSharp.Vhdx;

/// <summary>
/// A virtual disk of any supported format (VHDX, VHD, raw): the one contract the VMM's block
/// devices, the CLI and the cmdlets use. Read, Write and Unmap may be called from many threads
/// at once; implementations must not serialize data I/O behind one lock.
/// </summary>
public interface IVirtualDisk : IDisposable
{
    /// <summary>The file this disk lives in (absolute path).</summary>
    string Path { get; }

    DiskFormat Format { get; }

    DiskType Type { get; }

    /// <summary>Size of the virtual disk in bytes, as the guest sees it.</summary>
    long Capacity { get; }

    int LogicalSectorSize { get; }

    int PhysicalSectorSize { get; }

    bool IsReadOnly { get; }

    /// <summary>The parent of a differencing disk, already opened; null otherwise.</summary>
    IVirtualDisk? Parent { get; }

    /// <summary>Reads <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>. Any alignment.</summary>
    void Read(long offset, Span<byte> buffer);

    /// <summary>Writes at <paramref name="offset"/>. Any alignment (unaligned edges are read, merged and written).</summary>
    void Write(long offset, ReadOnlySpan<byte> buffer);

    /// <summary>Makes every write acknowledged so far durable, data and metadata alike.</summary>
    void Flush();

    /// <summary>
    /// Discards a range: afterwards it reads as zeros (also on a differencing disk, whose parent
    /// is no longer consulted there) and the image may release the space. Any alignment.
    /// </summary>
    void Unmap(long offset, long length);

    /// <summary>
    /// Describes the run of bytes starting at <paramref name="offset"/> that share one state in
    /// this layer. Lets convert, merge and compact skip what holds no data.
    /// </summary>
    DiskExtent GetExtent(long offset);

    /// <summary>Changes the capacity. Shrinking refuses to drop allocated data unless <paramref name="allowDataLoss"/>.</summary>
    void Resize(long newCapacity, bool allowDataLoss = false);

    /// <summary>Raised after the capacity changed (online resize), so a VMM can tell its guest.</summary>
    event Action<IVirtualDisk>? CapacityChanged;
}

public enum DiskFormat { Vhdx, Vhd, Raw }

public enum DiskType { Fixed, Dynamic, Differencing }

/// <summary>What a run of a disk's address space holds in one layer of a chain.</summary>
public enum ExtentState
{
    /// <summary>Data stored in this layer.</summary>
    Data,
    /// <summary>Reads as zeros in this layer (not allocated in a dynamic disk, or zeroed/unmapped).</summary>
    Zero,
    /// <summary>Not in this layer: a differencing disk's reads go to the parent.</summary>
    Parent,
}

/// <summary>A run of <see cref="Length"/> bytes at <see cref="Offset"/> in one <see cref="ExtentState"/>.</summary>
public readonly record struct DiskExtent(long Offset, long Length, ExtentState State);
