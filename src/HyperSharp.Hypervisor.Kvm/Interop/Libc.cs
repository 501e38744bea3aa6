using System.Runtime.InteropServices;

namespace HyperSharp.Hypervisor.Kvm.Interop;

/// <summary>libc entry points the Kvm backend uses: device fds, ioctl, mappings, signals to vCPU threads.</summary>
internal static unsafe partial class Libc
{
    public const int ORdWr = 0x2, OCloexec = 0x80000;
    public const int ProtRead = 0x1, ProtWrite = 0x2, ProtExec = 0x4;
    public const int MapShared = 0x01, MapPrivate = 0x02, MapAnonymous = 0x20;
    public const int ENOENT = 2, EINTR = 4, EAGAIN = 11, EACCES = 13, EEXIST = 17, ENXIO = 6, ENODEV = 19, E2BIG = 7, ENOMEM = 12;
    public static readonly nint MapFailed = -1;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    // ioctl is variadic in C; on x86-64 Linux one integer/pointer vararg is passed exactly like a fixed argument.
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, nint arg);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    public static partial int Mprotect(nint addr, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "pthread_self")]
    public static partial nuint PthreadSelf();

    [LibraryImport("libc", EntryPoint = "pthread_kill")]
    public static partial int PthreadKill(nuint thread, int signal);

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    public static partial int Sigaction(int signal, SigAction* action, SigAction* old);

    [LibraryImport("libc", EntryPoint = "__libc_current_sigrtmin")]
    public static partial int CurrentSigRtMin();

    /// <summary>glibc's struct sigaction on x86-64 (handler, 1024-bit mask, flags, restorer).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SigAction
    {
        public nint Handler;
        public fixed ulong Mask[16];
        public int Flags;
        public int Padding;
        public nint Restorer;
    }

    /// <summary>The errno of the last failed call as readable text.</summary>
    public static string LastError() => Describe(Marshal.GetLastPInvokeError());

    /// <summary>strerror-style text for an errno.</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
