using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace HyperSharp.Host.Tests.Migration;

/// <summary>
/// Holds every open of one file until the test has looked at the opener (fanotify permission events, FAN_OPEN_PERM): opens by
/// processes <c>stop</c> picks are refused after <c>stop</c> ran (which may kill the opener while its open waits), all others
/// are let through. A test thus acts at an exact point of another process — here, a destination worker opening the disk it
/// takes over — instead of racing it. Needs CAP_SYS_ADMIN; <see cref="TryCreate"/> says why not when it cannot.
/// </summary>
public sealed partial class OpenGate : IDisposable
{
    private const uint FanClassContent = 0x04, FanCloexec = 0x01, FanNonblock = 0x02, FanMarkAdd = 0x01;
    private const ulong FanOpenPerm = 0x00010000;
    private const uint FanAllow = 0x01, FanDeny = 0x02;
    private const int AtFdcwd = -100, MetadataSize = 24, PollIn = 0x1;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fanotify_init(uint flags, uint eventFlags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int fanotify_mark(int fd, uint flags, ulong mask, int dirfd, string path);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, Span<byte> buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, ReadOnlySpan<byte> buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(Span<int> fds, ulong count, int timeout);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    private readonly int _fd;
    private readonly Func<int, bool> _stop;
    private readonly Thread _thread;
    private volatile bool _disposed;

    private OpenGate(int fd, Func<int, bool> stop)
    {
        _fd = fd;
        _stop = stop;
        _thread = new Thread(Serve) { IsBackground = true, Name = "open-gate" };
        _thread.Start();
    }

    /// <summary>The opens refused so far, by process ID.</summary>
    public List<int> Refused { get; } = [];

    /// <summary>Gates <paramref name="path"/>: <paramref name="stop"/> gets each opener's PID and says whether to refuse it.</summary>
    public static OpenGate? TryCreate(string path, Func<int, bool> stop, out string why)
    {
        int fd = fanotify_init(FanClassContent | FanCloexec | FanNonblock, 0 /* O_RDONLY */);
        if (fd < 0) { why = $"fanotify_init failed (errno {Marshal.GetLastPInvokeError()}): permission events need CAP_SYS_ADMIN"; return null; }
        if (fanotify_mark(fd, FanMarkAdd, FanOpenPerm, AtFdcwd, path) != 0)
        {
            why = $"fanotify_mark on {path} failed (errno {Marshal.GetLastPInvokeError()})";
            close(fd);
            return null;
        }
        why = "";
        return new OpenGate(fd, stop);
    }

    private void Serve()
    {
        Span<byte> events = stackalloc byte[4096];
        Span<int> pollFd = stackalloc int[2]; // struct pollfd { int fd; short events; short revents; }
        Span<byte> answer = stackalloc byte[8]; // struct fanotify_response { int fd; u32 response; }
        while (!_disposed)
        {
            pollFd[0] = _fd;
            pollFd[1] = PollIn;
            if (poll(pollFd, 1, 100) <= 0) continue; // wakes now and then to see whether the test is done
            nint n = read(_fd, events, events.Length);
            for (int at = 0; at + MetadataSize <= n;)
            {
                var e = events[at..];
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(e);
                int file = BinaryPrimitives.ReadInt32LittleEndian(e[16..]), pid = BinaryPrimitives.ReadInt32LittleEndian(e[20..]);
                bool refuse = _stop(pid);
                if (refuse) lock (Refused) Refused.Add(pid);
                BinaryPrimitives.WriteInt32LittleEndian(answer, file);
                BinaryPrimitives.WriteUInt32LittleEndian(answer[4..], refuse ? FanDeny : FanAllow);
                write(_fd, answer, 8);
                if (file >= 0) close(file);
                at += Math.Max(length, MetadataSize);
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _thread.Join();
        close(_fd); // the mark goes with the group: opens of the file pass freely again
    }
}
