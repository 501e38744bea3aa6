using System.IO.Compression;
using System.Runtime.InteropServices;

namespace HyperSharp.Machine.Boot;

/// <summary>The compression methods a bzImage payload may use, told apart by their magic bytes.</summary>
public enum KernelCompression { None, Gzip, Xz, Zstd, Lz4, Bzip2, Lzma, Lzo }

/// <summary>
/// Decompresses a kernel payload on the host, so the guest never runs the kernel's own
/// decompressor. xz, zstd and lz4 use the host's native libraries (liblzma, libzstd, liblz4, all
/// in Debian's base system); gzip uses .NET's own inflater.
/// </summary>
internal static partial class KernelDecompressor
{
    public static KernelCompression Detect(ReadOnlySpan<byte> data) => data switch
    {
        [0x1F, 0x8B, ..] => KernelCompression.Gzip,
        [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, ..] => KernelCompression.Xz,
        [0x28, 0xB5, 0x2F, 0xFD, ..] => KernelCompression.Zstd,
        [0x02, 0x21, 0x4C, 0x18, ..] => KernelCompression.Lz4,
        [0x42, 0x5A, 0x68, ..] => KernelCompression.Bzip2,
        [0x5D, 0x00, 0x00, ..] => KernelCompression.Lzma,
        [0x89, 0x4C, 0x5A, 0x4F, ..] => KernelCompression.Lzo,
        [0x7F, 0x45, 0x4C, 0x46, ..] => KernelCompression.None,
        _ => throw new KernelImageException($"the kernel payload starts with {Convert.ToHexString(data[..Math.Min(6, data.Length)])}, which is no compression format the kernel uses"),
    };

    /// <summary>Decompresses a payload whose last 4 bytes give the decompressed size (the kernel build appends it).</summary>
    public static byte[] Decompress(ReadOnlySpan<byte> payload, KernelCompression method)
    {
        try { return DecompressWithNativeLibraries(payload, method); }
        catch (DllNotFoundException e) { throw new KernelImageException($"the host lacks the library to decompress this {method} kernel (Debian: liblzma5, libzstd1, liblz4-1): {e.Message}"); }
    }

    private static byte[] DecompressWithNativeLibraries(ReadOnlySpan<byte> payload, KernelCompression method)
    {
        if (payload.Length < 8) throw new KernelImageException("the kernel payload is too short");
        int size = BitConverter.ToInt32(payload[^4..]);
        if (size <= 0 || size > 512 << 20) throw new KernelImageException($"the kernel payload claims a decompressed size of {size} bytes");
        var output = new byte[size];
        var input = payload[..^4];
        int produced = method switch
        {
            KernelCompression.Gzip => Gunzip(input, output),
            KernelCompression.Xz => Unxz(input, output),
            KernelCompression.Zstd => Unzstd(input, output),
            KernelCompression.Lz4 => Unlz4Legacy(input, output),
            _ => throw new KernelImageException($"kernels compressed with {method} are not supported; rebuild with xz, zstd, lz4 or gzip, or pass an ELF vmlinux"),
        };
        if (produced != size) throw new KernelImageException($"the kernel payload decompressed to {produced} bytes, not the {size} it declares");
        return output;
    }

    private static int Gunzip(ReadOnlySpan<byte> input, byte[] output)
    {
        using var stream = new GZipStream(new MemoryStream(input.ToArray()), CompressionMode.Decompress);
        int total = 0, n;
        while (total < output.Length && (n = stream.Read(output, total, output.Length - total)) > 0) total += n;
        return total;
    }

    [LibraryImport("liblzma.so.5")]
    private static unsafe partial int lzma_stream_buffer_decode(ulong* memlimit, uint flags, nint allocator,
        byte* input, nuint* inPos, nuint inSize, byte* output, nuint* outPos, nuint outSize);

    private static unsafe int Unxz(ReadOnlySpan<byte> input, byte[] output)
    {
        ulong memlimit = ulong.MaxValue;
        nuint inPos = 0, outPos = 0;
        int ret;
        // Safe: both buffers are pinned for the call and their true lengths are passed.
        fixed (byte* i = input)
        fixed (byte* o = output)
            ret = lzma_stream_buffer_decode(&memlimit, 0, 0, i, &inPos, (nuint)input.Length, o, &outPos, (nuint)output.Length);
        if (ret != 0) throw new KernelImageException($"the xz kernel payload is corrupt (liblzma error {ret})");
        return (int)outPos;
    }

    [LibraryImport("libzstd.so.1")]
    private static unsafe partial nuint ZSTD_decompress(byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

    [LibraryImport("libzstd.so.1")]
    private static unsafe partial nuint ZSTD_findFrameCompressedSize(byte* src, nuint srcSize);

    [LibraryImport("libzstd.so.1")]
    private static partial uint ZSTD_isError(nuint code);

    private static unsafe int Unzstd(ReadOnlySpan<byte> input, byte[] output)
    {
        nuint result;
        // Safe: pinned buffers with their real lengths; the frame size is found first so trailing bytes are ignored.
        fixed (byte* i = input)
        fixed (byte* o = output)
        {
            nuint frame = ZSTD_findFrameCompressedSize(i, (nuint)input.Length);
            result = ZSTD_isError(frame) != 0 ? frame : ZSTD_decompress(o, (nuint)output.Length, i, frame);
        }
        if (ZSTD_isError(result) != 0) throw new KernelImageException("the zstd kernel payload is corrupt");
        return (int)result;
    }

    [LibraryImport("liblz4.so.1")]
    private static unsafe partial int LZ4_decompress_safe(byte* src, byte* dst, int compressedSize, int dstCapacity);

    /// <summary>The kernel's lz4 uses the legacy frame: a magic, then chunks each led by its 32-bit compressed size.</summary>
    private static unsafe int Unlz4Legacy(ReadOnlySpan<byte> input, byte[] output)
    {
        int pos = 4, produced = 0;
        while (pos + 4 <= input.Length && produced < output.Length)
        {
            int chunk = BitConverter.ToInt32(input[pos..]);
            pos += 4;
            if (chunk == 0x184C2102) continue; // another legacy frame follows
            if (chunk <= 0 || pos + chunk > input.Length) throw new KernelImageException("the lz4 kernel payload has a chunk running past its end");
            int n;
            // Safe: the chunk lies inside the pinned input (checked above) and the output capacity is what remains.
            fixed (byte* i = input)
            fixed (byte* o = output)
                n = LZ4_decompress_safe(i + pos, o + produced, chunk, output.Length - produced);
            if (n < 0) throw new KernelImageException("the lz4 kernel payload is corrupt");
            produced += n;
            pos += chunk;
        }
        return produced;
    }
}
