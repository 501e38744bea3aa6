using System.Runtime.InteropServices;

namespace HyperSharp.Inventory.Platform;

/// <summary>The few POSIX calls .NET does not expose: directory fsync, chown, rename of any entry, hard links, process signals.</summary>
public static partial class Posix
{
    private const int ORdOnly = 0, ODirectory = 0x10000;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, int owner, int group);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rename(string from, string to);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string existing, string newPath);

    /// <summary>Makes a rename or create inside <paramref name="directory"/> durable: the entry survives a power cut.</summary>
    public static void FsyncDirectory(string directory)
    {
        int fd = open(directory, ORdOnly | ODirectory);
        if (fd < 0) throw new IOException($"cannot open {directory} to flush it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (fsync(fd) != 0) throw new IOException($"cannot flush {directory} (errno {Marshal.GetLastPInvokeError()})");
        }
        finally { close(fd); }
    }

    /// <summary>Sets a file's permission bits (the host runs on Linux only; the guard tells the analyzer so).</summary>
    public static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the HyperSharp host runs on Linux");
        File.SetUnixFileMode(path, mode);
    }

    /// <summary>chown(2); -1 leaves the owner or the group as it is.</summary>
    public static bool Chown(string path, int owner, int group) => chown(path, owner, group) == 0;

    /// <summary>
    /// rename(2): moves any entry — file, folder, or a symbolic link itself — in one atomic step, replacing a file
    /// (or an empty folder) at the target. File.Move and Directory.Move each refuse some of these (a link to a folder).
    /// </summary>
    public static void Rename(string from, string to)
    {
        if (rename(from, to) != 0) throw new IOException($"cannot rename {from} to {to}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>link(2): a second name for the file <paramref name="existing"/>; false when it cannot be made (another file system, no support).</summary>
    public static bool TryHardLink(string existing, string newPath) => link(existing, newPath) == 0;

    /// <summary>Sends <paramref name="signal"/> to one process; false if it does not exist (or is not ours to signal).</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && kill(pid, signal) == 0;

    public const int SigKill = 9;
}

/// <summary>This process's own ids.</summary>
public static partial class PosixIds
{
    [LibraryImport("libc")]
    private static partial uint geteuid();

    public static uint EffectiveUid { get; } = geteuid();
}
