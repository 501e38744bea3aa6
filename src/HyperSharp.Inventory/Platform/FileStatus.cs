using System.Runtime.InteropServices;

namespace HyperSharp.Inventory.Platform;

/// <summary>What a directory entry is, as stat tells it (.NET's FileInfo cannot tell a FIFO or a device from a file).</summary>
public enum FileKind { Regular, Directory, SymbolicLink, CharacterDevice, BlockDevice, Fifo, Socket, Unknown }

/// <summary>
/// One stat of a path (statx, whose record has the same layout on every Linux architecture): its kind, size, owner,
/// mode and identity. <see cref="Inode"/> with <see cref="Device"/> names the file itself, whatever path reached it.
/// </summary>
public readonly partial record struct FileStatus(FileKind Kind, long Size, uint Uid, uint Gid, UnixFileMode Mode, ulong Device, ulong Inode)
{
    /// <summary>The file's identity: two paths (links, bind mounts, hard links) to one file have the same.</summary>
    public (ulong Device, ulong Inode) Identity => (Device, Inode);

    /// <summary>The status of <paramref name="path"/> (of the link itself when <paramref name="followLinks"/> is false), or null if nothing is there.</summary>
    public static FileStatus? Of(string path, bool followLinks = true)
    {
        const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxBasicStats = 0x7FF, ENOENT = 2, ENOTDIR = 20;
        if (statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxBasicStats, out var s) == 0) return From(s);
        int errno = Marshal.GetLastPInvokeError();
        if (errno is ENOENT or ENOTDIR) return null;
        throw new IOException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    /// <summary>The status of an open file (statx on the descriptor: AT_EMPTY_PATH); <paramref name="path"/> names it in errors.</summary>
    public static FileStatus Of(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path)
    {
        const int AtEmptyPath = 0x1000, StatxBasicStats = 0x7FF;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            // Safe: the handle is referenced for the duration of the call, so the descriptor stays open and ours.
            if (statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, StatxBasicStats, out var s) != 0)
                throw new IOException($"{path}: {Marshal.GetLastPInvokeErrorMessage()}");
            return From(s);
        }
        finally { if (added) handle.DangerousRelease(); }
    }

    /// <summary>"a FIFO", "a character device"...: what error messages say a path is.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.Socket => "a socket",
        _ => "not a file",
    };

    private static FileStatus From(in StatxRecord s) =>
        new(KindOf(s.Mode), (long)s.Size, s.Uid, s.Gid, (UnixFileMode)(s.Mode & 0xFFF), ((ulong)s.DevMajor << 32) | s.DevMinor, s.Inode);

    private static FileKind KindOf(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0xA000 => FileKind.SymbolicLink,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        0x1000 => FileKind.Fifo,
        0xC000 => FileKind.Socket,
        _ => FileKind.Unknown,
    };

    /// <summary>struct statx (include/uapi/linux/stat.h): 256 bytes, the same on every architecture.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct StatxRecord
    {
        public uint Mask, BlockSize;
        public ulong Attributes;
        public uint Links, Uid, Gid;
        public ushort Mode, Spare0;
        public ulong Inode, Size, Blocks, AttributesMask;
        public fixed byte Times[64]; // atime, btime, ctime, mtime: 16 bytes each
        public uint RdevMajor, RdevMinor, DevMajor, DevMinor;
        public fixed byte Rest[112];
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, out StatxRecord buffer);
}
