using System.Buffers;
using System.Runtime.InteropServices;

namespace HyperSharp.Bench;

/// <summary>
/// A page-aligned native buffer, as guest memory is: in a VMM, disk I/O lands in guest RAM pages,
/// not in a managed array (which starts 16 bytes into its object, off any page boundary).
/// </summary>
internal sealed unsafe class PageAlignedBuffer : MemoryManager<byte>
{
    private readonly byte* _pointer;
    private readonly int _length;

    private PageAlignedBuffer(int length)
    {
        _length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
    }

    public static PageAlignedBuffer Allocate(int length) => new(length);

    // Safe: the block is _length bytes and lives until Dispose.
    public override Span<byte> GetSpan() => new(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin() { }

    protected override void Dispose(bool disposing) => NativeMemory.AlignedFree(_pointer);
}
