using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx;

/// <summary>
/// Host file-system operations .NET does not expose: punching holes (to give space back when a
/// guest unmaps), finding data and holes in sparse files, and zero-filling when holes are unsupported.
/// </summary>
internal static partial class HostFile
{
    private const int FALLOC_FL_KEEP_SIZE = 0x01;
    private const int FALLOC_FL_PUNCH_HOLE = 0x02;
    private const int FALLOC_FL_ZERO_RANGE = 0x10;
    private const int SEEK_DATA = 3;
    private const int SEEK_HOLE = 4;
    private const int ENXIO = 6;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fallocate(int fd, int mode, long offset, long len);

    [LibraryImport("libc", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);

    private static readonly bool IsLinux = OperatingSystem.IsLinux();

    /// <summary>Deallocates a byte range so it reads as zeros. False when the file system cannot.</summary>
    public static bool PunchHole(SafeFileHandle handle, long offset, long length) =>
        Fallocate(handle, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);

    /// <summary>Zeroes a range but keeps it allocated (for fixed disks). False when the file system cannot.</summary>
    public static bool ZeroRange(SafeFileHandle handle, long offset, long length) =>
        Fallocate(handle, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length);

    private static bool Fallocate(SafeFileHandle handle, int mode, long offset, long length)
    {
        if (!IsLinux || length == 0) return length == 0;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            // Safe: the handle is referenced for the duration of the call, so the descriptor stays open.
            return fallocate((int)handle.DangerousGetHandle(), mode, offset, length) == 0;
        }
        finally { if (added) handle.DangerousRelease(); }
    }

    /// <summary>Makes a range read as zeros: punched (or zero-ranged when <paramref name="keepAllocated"/>), else written.</summary>
    public static void Zero(SafeFileHandle handle, long offset, long length, bool keepAllocated)
    {
        if (keepAllocated ? ZeroRange(handle, offset, length) : PunchHole(handle, offset, length)) return;
        WriteZeros(handle, offset, length);
    }

    private static readonly byte[] ZeroBuffer = new byte[1 << 20];

    /// <summary>Writes zeros over a range, in 1 MiB pieces.</summary>
    public static void WriteZeros(SafeFileHandle handle, long offset, long length)
    {
        while (length > 0)
        {
            int n = (int)Math.Min(length, ZeroBuffer.Length);
            RandomAccess.Write(handle, ZeroBuffer.AsSpan(0, n), offset);
            offset += n;
            length -= n;
        }
    }

    /// <summary>
    /// Whether <paramref name="offset"/> lies in data or in a hole, and where that run ends
    /// (never past <paramref name="limit"/>). Without SEEK_DATA support everything is data.
    /// </summary>
    public static (bool IsData, long End) DataOrHole(SafeFileHandle handle, long offset, long limit)
    {
        if (!IsLinux) return (true, limit);
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            long data = lseek(fd, offset, SEEK_DATA);
            if (data < 0)
            {
                // ENXIO: no data at or after offset, the rest of the file is a hole.
                return Marshal.GetLastPInvokeError() == ENXIO ? (false, limit) : (true, limit);
            }
            if (data > offset) return (false, Math.Min(data, limit));
            long hole = lseek(fd, offset, SEEK_HOLE);
            return (true, hole < 0 ? limit : Math.Min(hole, limit));
        }
        finally { if (added) handle.DangerousRelease(); }
    }
}
