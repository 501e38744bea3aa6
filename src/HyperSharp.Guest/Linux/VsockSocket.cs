using System.Net.Sockets;

namespace HyperSharp.Guest.Linux;

/// <summary>
/// AF_VSOCK stream sockets. The BCL's Socket does not know the address family (it maps only the families it names),
/// so the socket is made and connected (or bound) through libc and then handed to a Socket for ordinary I/O.
/// </summary>
internal static class VsockSocket
{
    public const uint HostCid = 2, AnyCid = uint.MaxValue;

    public static Socket Connect(uint cid, uint port)
    {
        int fd = Libc.socket(Libc.AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new IOException($"cannot create a vsock socket ({Libc.LastError()}); is the vsock transport loaded?");
        var address = new Libc.SockAddrVm { Family = Libc.AF_VSOCK, Port = port, Cid = cid };
        if (Libc.connect(fd, address, 16) != 0)
        {
            string why = Libc.LastError();
            Libc.close(fd);
            throw new IOException($"cannot connect to vsock {cid}:{port} ({why})");
        }
        return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }

    /// <summary>A listening socket on <paramref name="port"/> (any CID); accept with <see cref="Accept"/>.</summary>
    public static SafeSocketHandle Listen(uint port)
    {
        int fd = Libc.socket(Libc.AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new IOException($"cannot create a vsock socket ({Libc.LastError()})");
        var address = new Libc.SockAddrVm { Family = Libc.AF_VSOCK, Port = port, Cid = AnyCid };
        if (Libc.bind(fd, address, 16) != 0 || Libc.listen(fd, 16) != 0)
        {
            string why = Libc.LastError();
            Libc.close(fd);
            throw new IOException($"cannot listen on vsock port {port} ({why})");
        }
        return new SafeSocketHandle(fd, ownsHandle: true);
    }

    public static Socket Accept(SafeSocketHandle listener)
    {
        int fd = Libc.accept4((int)listener.DangerousGetHandle(), IntPtr.Zero, IntPtr.Zero, Libc.SOCK_CLOEXEC);
        if (fd < 0) throw new IOException($"vsock accept failed ({Libc.LastError()})");
        return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }
}
