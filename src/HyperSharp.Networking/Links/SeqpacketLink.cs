using HyperSharp.Networking.Interop;
using static HyperSharp.Networking.Interop.NetCalls;

namespace HyperSharp.Networking.Links;

/// <summary>
/// Links over Unix SOCK_SEQPACKET sockets: one frame per message, boundaries kept by the kernel.
/// The host service keeps one end on the switch port and passes the other to the VM's worker
/// process (inherited or sent with SCM_RIGHTS), which wraps it with <see cref="FromDescriptor"/>.
/// </summary>
public static unsafe class SeqpacketLink
{
    public static (FileDescriptorLink Switch, FileDescriptorLink Adapter) CreatePair(string description = "seqpacket")
    {
        int* fds = stackalloc int[2];
        if (socketpair(AfUnix, SockSeqpacket | SockNonblock | SockCloexec, 0, fds) != 0)
            throw new IOException($"cannot create a seqpacket socket pair: {Describe(LastError)}");
        return (new FileDescriptorLink(fds[0], $"{description} fd {fds[0]}"), new FileDescriptorLink(fds[1], $"{description} fd {fds[1]}"));
    }

    /// <summary>Wraps a seqpacket socket this process received; it takes ownership and makes it non-blocking.</summary>
    public static FileDescriptorLink FromDescriptor(int fd)
    {
        Descriptors.MakeNonBlocking(fd);
        return new FileDescriptorLink(fd, $"seqpacket fd {fd}");
    }
}
