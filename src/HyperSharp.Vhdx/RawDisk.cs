using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx;

/// <summary>
/// A raw image: the file is the disk, byte for byte. Holes in a sparse file are reported as
/// zero extents (SEEK_DATA/SEEK_HOLE) so converting a sparse raw file skips them.
/// </summary>
public sealed class RawDisk : IVirtualDisk
{
    private readonly SafeFileHandle _handle;
    private long _capacity;

    private RawDisk(string path, SafeFileHandle handle, bool readOnly)
    {
        Path = path;
        _handle = handle;
        IsReadOnly = readOnly;
        _capacity = ImageFile.Length(handle);
    }

    /// <summary>Opens a file (or a block device: the caller chose raw) as a raw disk.</summary>
    public static RawDisk Open(string path, DiskOpenOptions? options = null) => Open(path, options, blockDeviceAllowed: true);

    internal static RawDisk Open(string path, DiskOpenOptions? options, bool blockDeviceAllowed)
    {
        options ??= DiskOpenOptions.Default;
        string full = System.IO.Path.GetFullPath(path);
        var handle = ImageFile.Open(full, options.ReadOnly ? FileAccess.Read : FileAccess.ReadWrite,
            options.ReadOnly ? FileShare.ReadWrite : FileShare.Read, blockDeviceAllowed, "raw disk image");
        return new RawDisk(full, handle, options.ReadOnly);
    }

    public static RawDisk Create(string path, long capacity, bool preallocate = false, bool overwrite = false)
    {
        if (capacity < 0) throw new ArgumentOutOfRangeException(nameof(capacity), "capacity must not be negative");
        string full = System.IO.Path.GetFullPath(path);
        var handle = File.OpenHandle(full, overwrite ? FileMode.Create : FileMode.CreateNew, FileAccess.ReadWrite,
            FileShare.Read, FileOptions.None, preallocate ? capacity : 0);
        RandomAccess.SetLength(handle, capacity);
        return new RawDisk(full, handle, false);
    }

    public string Path { get; }
    public DiskFormat Format => DiskFormat.Raw;
    public DiskType Type => DiskType.Fixed;
    public long Capacity => Volatile.Read(ref _capacity);
    public int LogicalSectorSize => 512;
    public int PhysicalSectorSize => 4096;
    public bool IsReadOnly { get; }
    public IVirtualDisk? Parent => null;
    public event Action<IVirtualDisk>? CapacityChanged;

    public void Read(long offset, Span<byte> buffer)
    {
        DiskRange.Check(this, offset, buffer.Length);
        while (buffer.Length > 0)
        {
            int n = RandomAccess.Read(_handle, buffer, offset);
            if (n == 0) { buffer.Clear(); return; } // beyond a short file: zeros
            buffer = buffer[n..];
            offset += n;
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> buffer)
    {
        DiskRange.CheckWritable(this, offset, buffer.Length);
        RandomAccess.Write(_handle, buffer, offset);
    }

    public void Flush() { if (!IsReadOnly) RandomAccess.FlushToDisk(_handle); }

    public void Unmap(long offset, long length)
    {
        DiskRange.CheckWritable(this, offset, length);
        if (!HostFile.PunchHole(_handle, offset, length))
            HostFile.WriteZeros(_handle, offset, length);
    }

    public DiskExtent GetExtent(long offset)
    {
        long capacity = Capacity;
        if ((ulong)offset >= (ulong)capacity) throw DiskRange.OutOfRange(this, offset, 0);
        var (isData, end) = HostFile.DataOrHole(_handle, offset, capacity);
        return new DiskExtent(offset, end - offset, isData ? ExtentState.Data : ExtentState.Zero);
    }

    public void Resize(long newCapacity, bool allowDataLoss = false)
    {
        if (IsReadOnly) throw new VirtualDiskException($"{Path}: the disk is open read-only");
        if (newCapacity < 0) throw new ArgumentOutOfRangeException(nameof(newCapacity));
        RandomAccess.SetLength(_handle, newCapacity);
        Volatile.Write(ref _capacity, newCapacity);
        CapacityChanged?.Invoke(this);
    }

    public void Dispose() => _handle.Dispose();
}
