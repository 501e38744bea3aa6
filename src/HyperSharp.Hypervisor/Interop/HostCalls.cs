using System.Runtime.InteropServices;

namespace HyperSharp.Hypervisor.Interop;

/// <summary>The few libc calls the contracts need on a Linux host: anonymous mappings and eventfds.</summary>
internal static partial class HostCalls
{
    public const int ProtRead = 0x1, ProtWrite = 0x2;
    public const int MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;
    public const int EfdCloexec = 0x80000, EfdNonblock = 0x800;
    public const short PollIn = 0x1;
    public const int EAGAIN = 11, EINTR = 4;
    public static readonly nint MapFailed = -1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(nint addr, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int madvise(nint addr, nuint length, int advice);

    /// <summary>madvise advice: drop the pages; a private anonymous mapping reads zeros next time (and the RSS falls now).</summary>
    public const int MadvDontNeed = 4;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint read(int fd, void* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint write(int fd, void* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int poll(PollFd* fds, nuint nfds, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>strerror-style text for an errno, for messages.</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
