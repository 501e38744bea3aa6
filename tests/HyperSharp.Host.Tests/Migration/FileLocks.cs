using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace HyperSharp.Host.Tests.Migration;

/// <summary>Who holds an advisory lock on a file now, from /proc/locks (the kernel's own table; opening the file is not needed).</summary>
public static partial class FileLocks
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, Span<byte> buffer);

    /// <summary>The PIDs holding a write (exclusive) lock on <paramref name="path"/>.</summary>
    public static List<int> WriteHolders(string path)
    {
        Span<byte> stx = stackalloc byte[256];
        if (statx(-100, path, 0, 0x100 /* STATX_INO */, stx) != 0) throw new IOException($"statx {path} failed (errno {Marshal.GetLastPInvokeError()})");
        string inode = ":" + BinaryPrimitives.ReadUInt64LittleEndian(stx[32..]);
        // "1: FLOCK  ADVISORY  WRITE 1234 00:2a:56789 0 EOF": kind, mode, access, PID, device:inode, range.
        return File.ReadLines("/proc/locks")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && f[3] == "WRITE" && f[5].EndsWith(inode, StringComparison.Ordinal))
            .Select(f => int.Parse(f[4])).ToList();
    }
}
