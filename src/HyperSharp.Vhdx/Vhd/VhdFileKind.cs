using System.Runtime.InteropServices;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// Tells whether a path a parent locator names can be opened without blocking and seeked: a FIFO
/// named by a hostile locator would otherwise hang the open forever.
/// </summary>
internal static partial class VhdFileKind
{
    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    private const int SEEK_END = 2;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Seek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>True for files that can hold a disk image (regular files, block devices); false for FIFOs, sockets and the like.</summary>
    public static bool IsSeekable(string path)
    {
        if (!OperatingSystem.IsLinux()) return File.Exists(path);
        // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer.
        int fd = Open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return false;
        try { return Seek(fd, 0, SEEK_END) >= 0; } // pipes and sockets fail with ESPIPE
        finally { Close(fd); }
    }
}
