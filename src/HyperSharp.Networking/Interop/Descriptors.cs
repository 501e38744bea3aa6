using System.Runtime.InteropServices;

namespace HyperSharp.Networking.Interop;

/// <summary>fcntl helpers for descriptors handed to us by another process.</summary>
internal static partial class Descriptors
{
    private const int FGetFl = 3, FSetFl = 4, FDupFdCloexec = 1030;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);

    public static int Duplicate(int fd)
    {
        int copy = fcntl(fd, FDupFdCloexec, 0);
        return copy >= 0 ? copy : throw new IOException($"descriptor {fd} cannot be duplicated: {NetCalls.Describe(NetCalls.LastError)}");
    }

    public static void MakeNonBlocking(int fd)
    {
        int flags = fcntl(fd, FGetFl, 0);
        if (flags < 0 || fcntl(fd, FSetFl, flags | NetCalls.ONonblock) < 0)
            throw new IOException($"descriptor {fd} cannot be made non-blocking: {NetCalls.Describe(NetCalls.LastError)}");
    }
}
