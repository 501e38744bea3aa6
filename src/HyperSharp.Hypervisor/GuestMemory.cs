using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Interop;

namespace HyperSharp.Hypervisor;

/// <summary>
/// Host memory that backs guest RAM, addressed by offset from its start. Reserved sparsely
/// (MAP_NORESERVE, anonymous, private) so a huge guest costs nothing until a page is touched.
/// Every accessor checks bounds first: a guest-supplied address outside the block is refused with
/// <see cref="GuestMemoryAccessException"/> and never reaches host memory around it.
/// Dispose only after every partition that maps it is disposed.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    private nint _base;

    private GuestMemory(nint hostAddress, ulong size)
    {
        _base = hostAddress;
        Size = size;
    }

    /// <summary>Reserves <paramref name="size"/> bytes (a multiple of 4 KiB) of zeroed guest RAM.</summary>
    public static GuestMemory Allocate(ulong size)
    {
        if (size == 0 || size % MemorySlot.PageSize != 0)
            throw new HypervisorException($"Guest memory size 0x{size:X} must be a non-zero multiple of 4 KiB.");
        nint p = HostCalls.mmap(0, (nuint)size, HostCalls.ProtRead | HostCalls.ProtWrite,
            HostCalls.MapPrivate | HostCalls.MapAnonymous | HostCalls.MapNoReserve, -1, 0);
        if (p == HostCalls.MapFailed)
            throw new HypervisorException($"Cannot reserve {size >> 20} MiB of address space for guest memory: "
                + HostCalls.Describe(Marshal.GetLastPInvokeError()));
        return new GuestMemory(p, size);
    }

    /// <summary>Length of the block in bytes.</summary>
    public ulong Size { get; }

    /// <summary>Host virtual address of offset 0, for backends that register the block with the kernel.</summary>
    public nint HostAddress => _base != 0 ? _base : throw new ObjectDisposedException(nameof(GuestMemory));

    /// <summary>True when [<paramref name="offset"/>, offset + <paramref name="length"/>) lies inside the block.</summary>
    public bool Contains(ulong offset, ulong length) => offset <= Size && length <= Size - offset;

    /// <summary>A span over guest RAM; throws <see cref="GuestMemoryAccessException"/> for any byte outside it.</summary>
    public Span<byte> GetSpan(ulong offset, int length)
    {
        Check(offset, (ulong)length, length < 0);
        // Safe: Check proved [offset, offset+length) lies inside the live mapping of Size bytes.
        return new Span<byte>((byte*)HostAddress + offset, length);
    }

    /// <summary>Copies guest RAM at <paramref name="offset"/> into <paramref name="destination"/> (bounds-checked).</summary>
    public void Read(ulong offset, Span<byte> destination) => GetSpan(offset, destination.Length).CopyTo(destination);

    /// <summary>Copies <paramref name="source"/> into guest RAM at <paramref name="offset"/> (bounds-checked).</summary>
    public void Write(ulong offset, ReadOnlySpan<byte> source) => source.CopyTo(GetSpan(offset, source.Length));

    /// <summary>Reads a little-endian value (bounds-checked; unaligned allowed).</summary>
    public T Read<T>(ulong offset) where T : unmanaged
    {
        Check(offset, (ulong)sizeof(T), false);
        // Safe: Check proved sizeof(T) bytes at offset lie inside the mapping.
        return Unsafe.ReadUnaligned<T>((byte*)HostAddress + offset);
    }

    /// <summary>Writes a little-endian value (bounds-checked; unaligned allowed).</summary>
    public void Write<T>(ulong offset, T value) where T : unmanaged
    {
        Check(offset, (ulong)sizeof(T), false);
        // Safe: Check proved sizeof(T) bytes at offset lie inside the mapping.
        Unsafe.WriteUnaligned((byte*)HostAddress + offset, value);
    }

    /// <summary>
    /// Gives pages back to the host (a balloon's or an unplugged block's): their host memory is freed at once and they
    /// read as zeros when next touched. Whole 4 KiB pages only; bounds-checked like every access.
    /// </summary>
    public void Discard(ulong offset, ulong length)
    {
        Check(offset, length, false);
        if (offset % MemorySlot.PageSize != 0 || length % MemorySlot.PageSize != 0)
            throw new GuestMemoryAccessException(offset, length, Size);
        // Safe: Check proved the range lies inside the live mapping; MADV_DONTNEED on a private anonymous mapping only
        // replaces its pages with zero-fill-on-demand ones (KVM hears of it through its MMU notifier).
        if (length > 0 && HostCalls.madvise(HostAddress + (nint)offset, (nuint)length, HostCalls.MadvDontNeed) != 0)
            throw new HypervisorException($"Cannot give 0x{length:X} bytes of guest memory at offset 0x{offset:X} back to the host: "
                + HostCalls.Describe(Marshal.GetLastPInvokeError()));
    }

    private void Check(ulong offset, ulong length, bool negative)
    {
        ObjectDisposedException.ThrowIf(_base == 0, this);
        if (negative || !Contains(offset, length))
            throw new GuestMemoryAccessException(offset, length, Size);
    }

    /// <summary>Unmaps the block; spans taken earlier must no longer be used.</summary>
    public void Dispose()
    {
        nint p = Interlocked.Exchange(ref _base, 0);
        if (p != 0)
            HostCalls.munmap(p, (nuint)Size);
    }
}
