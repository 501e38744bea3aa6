using System.Runtime.InteropServices;

namespace HyperSharp.Guest.Linux;

/// <summary>The few Linux calls the BCL does not offer: AF_VSOCK sockets, the clock, sync/reboot, FIFREEZE/FITHAW, kill.</summary>
internal static partial class Libc
{
    public const int AF_VSOCK = 40, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000;
    public const int O_RDONLY = 0, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;
    public const int CLOCK_REALTIME = 0;
    public const int LINUX_REBOOT_CMD_POWER_OFF = 0x4321FEDC;
    public const ulong FIFREEZE = 0xC0045877, FITHAW = 0xC0045878;

    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrVm
    {
        public ushort Family;
        public ushort Reserved1;
        public uint Port;
        public uint Cid;
        public byte Flags;
        public byte Zero0, Zero1, Zero2;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int connect(int fd, in SockAddrVm address, int length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int bind(int fd, in SockAddrVm address, int length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int listen(int fd, int backlog);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int accept4(int fd, IntPtr address, IntPtr length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int clock_settime(int clock, in TimeSpec time);

    [LibraryImport("libc")]
    public static partial void sync();

    [LibraryImport("libc", SetLastError = true)]
    public static partial int reboot(int command);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, IntPtr argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int execv(string path, string?[] argv);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int execve(string path, string?[] argv, string?[] envp);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int initgroups(string user, uint group);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setgid(uint group);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setuid(uint user);

    [LibraryImport("libc")]
    public static partial uint getuid();

    [LibraryImport("libc")]
    public static partial uint geteuid();

    public static string LastError() => Marshal.GetLastPInvokeErrorMessage();
}
