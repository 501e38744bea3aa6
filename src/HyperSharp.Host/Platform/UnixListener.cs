using System.Runtime.InteropServices;
using System.Text;

namespace HyperSharp.Host.Platform;

/// <summary>
/// A listening Unix stream socket made with the C library, handed to the web server as a descriptor. .NET's Socket
/// unlinks the path it bound when it is disposed, whatever file is at that path by then; a socket made here is
/// unlinked only by the host, and only while the file there is still the one it bound (see ApiSocketClaim).
/// </summary>
internal static partial class UnixListener
{
    private const int AfUnix = 1, SockStream = 1, SockCloExec = 0x80000, Backlog = 512, SunPathBytes = 108;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int bind(int fd, byte* address, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int listen(int fd, int backlog);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    /// <summary>The descriptor of a socket bound at <paramref name="path"/> and listening; the caller owns it.</summary>
    public static unsafe int Listen(string path)
    {
        byte[] name = Encoding.UTF8.GetBytes(path);
        if (name.Length >= SunPathBytes) throw new IOException($"{path}: a Unix socket path holds at most {SunPathBytes - 1} bytes");
        int fd = socket(AfUnix, SockStream | SockCloExec, 0);
        if (fd < 0) throw new IOException($"cannot make a socket for {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        // struct sockaddr_un: sa_family_t (2 bytes) then the path, NUL-terminated.
        byte* address = stackalloc byte[2 + SunPathBytes];
        new Span<byte>(address, 2 + SunPathBytes).Clear();
        address[0] = AfUnix;
        name.CopyTo(new Span<byte>(address + 2, SunPathBytes));
        if (bind(fd, address, 2 + name.Length + 1) != 0 || listen(fd, Backlog) != 0)
        {
            string why = Marshal.GetLastPInvokeErrorMessage();
            close(fd);
            throw new IOException($"cannot listen on {path}: {why}");
        }
        return fd;
    }
}
