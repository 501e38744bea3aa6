using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx;

/// <summary>What kind of file system object a path names.</summary>
public enum ImageFileKind { Regular, BlockDevice, Directory, Fifo, Socket, CharacterDevice, Other }

/// <summary>
/// The gate every image open passes: what a path names, decided without opening it for I/O (a FIFO
/// opened for reading waits for a writer for ever), refusal of anything that cannot hold an image,
/// and the open itself bound to the object that was checked, so the path cannot be swapped for a
/// FIFO in between. Regular files hold images; a block device is a disk only as raw, and only when
/// the caller said raw (<paramref name="blockDeviceAllowed"/>).
/// </summary>
internal static partial class ImageFile
{
    private const int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000;
    private const int O_PATH = 0x200000, O_CLOEXEC = 0x80000;
    private const uint STATX_TYPE = 0x1;
    private const int StatxSize = 256, StatxModeOffset = 28;
    private const int SEEK_END = 2;
    private const int ENOENT = 2, ENOTDIR = 20, EACCES = 13, ELOOP = 40, ENAMETOOLONG = 36;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenPath(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Seek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>The kind of object <paramref name="path"/> names (symbolic links followed); FileNotFoundException when nothing is there.</summary>
    public static ImageFileKind KindOf(string path)
    {
        string full = Path.GetFullPath(path);
        if (!OperatingSystem.IsLinux()) return FallbackKind(full);
        int fd = OpenPathOnly(full);
        try { return KindOfDescriptor(fd, full); }
        finally { Close(fd); }
    }

    /// <summary>
    /// Opens <paramref name="path"/> for an image after checking what it is; the refusal says what the path
    /// names and what to do. <paramref name="what"/> names the format in the message ("VHDX image").
    /// </summary>
    public static SafeFileHandle Open(string path, FileAccess access, FileShare share, bool blockDeviceAllowed, string what)
    {
        string full = Path.GetFullPath(path);
        if (!OperatingSystem.IsLinux())
        {
            Require(FallbackKind(full), full, blockDeviceAllowed, what);
            return File.OpenHandle(full, FileMode.Open, access, share);
        }
        // O_PATH opens the name without opening the object for I/O (never blocks on a FIFO, needs no read
        // permission); the checked object is then reopened through /proc/self/fd, which names that very
        // inode, not the path again. The reopen goes through .NET, which applies FileShare as it always does.
        int fd = OpenPathOnly(full);
        try
        {
            Require(KindOfDescriptor(fd, full), full, blockDeviceAllowed, what);
            string self = $"/proc/self/fd/{fd}";
            if (!Directory.Exists("/proc/self/fd")) return File.OpenHandle(full, FileMode.Open, access, share); // no procfs: the check above stands alone
            try { return File.OpenHandle(self, FileMode.Open, access, share); }
            catch (UnauthorizedAccessException e) { throw new UnauthorizedAccessException(e.Message.Replace(self, full), e); }
            catch (IOException e) when (e is not FileNotFoundException) { throw new IOException(e.Message.Replace(self, full), e.HResult); }
        }
        finally { Close(fd); }
    }

    /// <summary>
    /// The size of an opened image: the file's length, or for a block device (whose st_size is 0) the
    /// device's, which lseek to the end reports.
    /// </summary>
    public static long Length(SafeFileHandle handle)
    {
        long length = RandomAccess.GetLength(handle);
        if (length != 0 || !OperatingSystem.IsLinux()) return length;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            // Safe: the handle is referenced for the duration of the call, so the descriptor stays open. Positional
            // I/O (pread/pwrite) ignores the file offset this moves.
            long end = Seek((int)handle.DangerousGetHandle(), 0, SEEK_END);
            return end > 0 ? end : 0;
        }
        finally { if (added) handle.DangerousRelease(); }
    }

    /// <summary>The refusal for a kind that cannot hold this image, or nothing when it can.</summary>
    private static void Require(ImageFileKind kind, string path, bool blockDeviceAllowed, string what)
    {
        switch (kind)
        {
            case ImageFileKind.Regular: return;
            case ImageFileKind.BlockDevice when blockDeviceAllowed: return;
            case ImageFileKind.BlockDevice:
                throw new ImageKindException(path, kind,
                    $"{path}: is a block device; a block device is opened only as a raw disk, when the format is given as raw explicitly (--format raw)");
            case ImageFileKind.Directory:
                throw new ImageKindException(path, kind, $"{path}: is a directory, not a {what}");
            case ImageFileKind.Fifo:
                throw new ImageKindException(path, kind, $"{path}: is a FIFO (named pipe), not a {what}; images are regular files (reading a FIFO would wait for a writer)");
            case ImageFileKind.Socket:
                throw new ImageKindException(path, kind, $"{path}: is a socket, not a {what}; images are regular files");
            case ImageFileKind.CharacterDevice:
                throw new ImageKindException(path, kind, $"{path}: is a character device (like /dev/zero or a terminal), not a {what}; images are regular files, or block devices given as raw");
            default:
                throw new ImageKindException(path, kind, $"{path}: is not a regular file, so it cannot be a {what}");
        }
    }

    private static int OpenPathOnly(string full)
    {
        int fd = OpenPath(full, O_PATH | O_CLOEXEC);
        if (fd >= 0) return fd;
        int errno = Marshal.GetLastPInvokeError();
        throw errno switch
        {
            ENOENT or ENOTDIR => new FileNotFoundException($"{full}: no such disk image", full),
            EACCES => new UnauthorizedAccessException($"{full}: permission denied (a folder on the way cannot be searched)"),
            ELOOP => new VirtualDiskException($"{full}: too many levels of symbolic links"),
            ENAMETOOLONG => new VirtualDiskException($"{full}: the path is too long"),
            _ => new IOException($"{full}: cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)}"),
        };
    }

    private static unsafe ImageFileKind KindOfDescriptor(int fd, string full)
    {
        byte* buffer = stackalloc byte[StatxSize];
        // Safe: the buffer is the 256 bytes struct statx occupies on every architecture, and lives for the call.
        if (Statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, buffer) != 0)
            throw new IOException($"{full}: cannot tell what kind of file it is: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        ushort mode = BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(buffer + StatxModeOffset, 2));
        return (mode & 0xF000) switch
        {
            0x8000 => ImageFileKind.Regular,
            0x6000 => ImageFileKind.BlockDevice,
            0x4000 => ImageFileKind.Directory,
            0x1000 => ImageFileKind.Fifo,
            0xC000 => ImageFileKind.Socket,
            0x2000 => ImageFileKind.CharacterDevice,
            _ => ImageFileKind.Other,
        };
    }

    /// <summary>Where there is no statx: what .NET can tell (directories apart from files).</summary>
    private static ImageFileKind FallbackKind(string full)
    {
        if (Directory.Exists(full)) return ImageFileKind.Directory;
        if (!File.Exists(full)) throw new FileNotFoundException($"{full}: no such disk image", full);
        return ImageFileKind.Regular;
    }
}

/// <summary>A path that names something other than a file that can hold the image (a FIFO, a device, a directory).</summary>
public sealed class ImageKindException(string path, ImageFileKind kind, string message) : VirtualDiskException(message)
{
    /// <summary>The path refused.</summary>
    public string Path { get; } = path;

    /// <summary>What the path names.</summary>
    public ImageFileKind Kind { get; } = kind;
}
