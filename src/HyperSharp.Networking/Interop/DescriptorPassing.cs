using static HyperSharp.Networking.Interop.NetCalls;

namespace HyperSharp.Networking.Interop;

/// <summary>
/// Hands file descriptors from one process to another over a connected Unix socket (SCM_RIGHTS):
/// the host service gives each VM worker its end of a switch port this way, at start, on hot-add,
/// on reconnect and after a host restart, without the worker having to inherit anything.
/// </summary>
public static unsafe class DescriptorPassing
{
    private const int SolSocket = 1, ScmRights = 1, MsgCmsgCloexec = 0x40000000;
    private const int ControlHeader = 16, ControlSpace = 24; // CMSG_LEN(0) and CMSG_SPACE(sizeof(int)) on x86-64

    /// <summary>Sends one byte carrying <paramref name="fd"/> (the receiver gets its own copy; ours stays open).</summary>
    public static void Send(nint socket, int fd)
    {
        byte payload = 1;
        var control = stackalloc byte[ControlSpace];
        new Span<byte>(control, ControlSpace).Clear();
        *(nuint*)control = ControlHeader + sizeof(int);
        *(int*)(control + 8) = SolSocket;
        *(int*)(control + 12) = ScmRights;
        *(int*)(control + ControlHeader) = fd;
        var iov = new IoVec { Base = &payload, Length = 1 };
        var message = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSpace };
        while (true)
        {
            if (sendmsg((int)socket, &message, 0) == 1) return;
            int errno = LastError;
            if (errno == EINTR) continue;
            if (errno == EAGAIN && Wait((int)socket, PollOut, 5000)) continue;
            throw new IOException($"cannot pass descriptor {fd}: {Describe(errno)}");
        }
    }

    /// <summary>Receives the descriptor <see cref="Send"/> passed (close-on-exec); waits up to <paramref name="timeoutMs"/>.</summary>
    public static int Receive(nint socket, int timeoutMs)
    {
        byte payload;
        var control = stackalloc byte[ControlSpace];
        var iov = new IoVec { Base = &payload, Length = 1 };
        while (true)
        {
            var message = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSpace };
            nint n = recvmsg((int)socket, &message, MsgCmsgCloexec);
            if (n < 0)
            {
                int errno = LastError;
                if (errno == EINTR || (errno == EAGAIN && Wait((int)socket, PollIn, timeoutMs))) continue;
                throw new IOException(errno == EAGAIN ? $"no descriptor arrived within {timeoutMs} ms" : $"cannot receive a descriptor: {Describe(errno)}");
            }
            if (n == 0) throw new IOException("the peer closed the connection before passing a descriptor");
            if (message.ControlLength < ControlHeader + sizeof(int) || *(int*)(control + 8) != SolSocket || *(int*)(control + 12) != ScmRights)
                throw new IOException("a message without a descriptor arrived where one was expected");
            return *(int*)(control + ControlHeader);
        }
    }

    /// <summary>A second descriptor for the same open socket or file (close-on-exec).</summary>
    public static int Duplicate(int fd) => Descriptors.Duplicate(fd);

    public static void Close(int fd) => close(fd);

    private static bool Wait(int fd, short events, int timeoutMs)
    {
        var poll = new PollFd { Fd = fd, Events = events };
        return NetCalls.poll(&poll, 1, timeoutMs) > 0;
    }
}
