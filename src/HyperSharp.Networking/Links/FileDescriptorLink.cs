using System.Runtime.InteropServices;
using HyperSharp.Networking.Frames;
using static HyperSharp.Networking.Interop.NetCalls;

namespace HyperSharp.Networking.Links;

/// <summary>
/// A link over a non-blocking file descriptor that moves one frame per read/write: a TAP device, a
/// packet socket or a Unix seqpacket socket. A thread of its own waits in poll() and hands each
/// frame to the receiver from one native buffer (no allocation per frame); sends never block — a
/// full socket or TAP queue drops the frame, as a congested switch port does.
/// </summary>
public sealed unsafe class FileDescriptorLink : IFrameLink
{
    private const int BufferSize = 65536;
    private readonly int _fd;
    private readonly int _stop;
    private readonly Action? _onDispose;
    private Thread? _reader;
    private int _disposed;

    /// <summary>Takes ownership of <paramref name="fd"/> (already non-blocking); <paramref name="onDispose"/> runs after it is closed.</summary>
    public FileDescriptorLink(int fd, string description, Action? onDispose = null)
    {
        _fd = fd;
        Description = description;
        _onDispose = onDispose;
        _stop = eventfd(0, EfdCloexec | EfdNonblock);
        if (_stop < 0)
        {
            int errno = LastError;
            close(fd);
            throw new IOException($"{description}: cannot create an eventfd: {Describe(errno)}");
        }
    }

    public string Description { get; }

    /// <summary>The descriptor, e.g. to pass a seqpacket end to a worker process.</summary>
    public int Descriptor => _fd;

    public bool SendCopies => true; // write() copies into the kernel before the other end reads

    public void Start(IFrameReceiver receiver)
    {
        if (_reader is not null) throw new InvalidOperationException($"{Description} is already started");
        _reader = new Thread(() => ReadLoop(receiver)) { IsBackground = true, Name = "link " + Description };
        _reader.Start();
    }

    private void ReadLoop(IFrameReceiver receiver)
    {
        byte* buffer = (byte*)NativeMemory.Alloc(BufferSize);
        try
        {
            var fds = stackalloc PollFd[2];
            while (Volatile.Read(ref _disposed) == 0)
            {
                fds[0] = new PollFd { Fd = _fd, Events = PollIn };
                fds[1] = new PollFd { Fd = _stop, Events = PollIn };
                if (poll(fds, 2, -1) < 0 && LastError != EINTR) return;
                if (fds[1].Revents != 0) return;
                if (fds[0].Revents == 0) continue;
                if ((fds[0].Revents & PollIn) == 0) return; // hang-up or error with nothing to read: the other end is gone
                // Drain what is queued before polling again.
                for (int i = 0; i < 64; i++)
                {
                    nint n = read(_fd, buffer, BufferSize);
                    if (n < 0) { if (LastError is EAGAIN or EINTR) break; return; }
                    if (n == 0) return;
                    // Safe: read wrote n <= BufferSize bytes into the buffer we own until the loop ends.
                    DeliverSafely(receiver, new ReadOnlySpan<byte>(buffer, (int)n));
                }
            }
        }
        finally { NativeMemory.Free(buffer); }
    }

    /// <summary>A receiver fault must not kill the link thread (and with it the process).</summary>
    private void DeliverSafely(IFrameReceiver receiver, ReadOnlySpan<byte> frame)
    {
        try { receiver.Receive(frame); }
        catch (Exception e) { Console.Error.WriteLine($"{Description}: frame receiver failed: {e.Message}"); }
    }

    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (Volatile.Read(ref _disposed) != 0 || frame.IsEmpty) return false;
        fixed (byte* p = frame)
        {
            while (true)
            {
                nint n = write(_fd, p, (nuint)frame.Length);
                if (n >= 0) return n == frame.Length;
                if (LastError != EINTR) return false; // EAGAIN/ENOBUFS: congested, the frame is dropped
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        ulong one = 1;
        write(_stop, (byte*)&one, 8);
        if (_reader is not null && _reader != Thread.CurrentThread) _reader.Join();
        close(_fd);
        close(_stop);
        _onDispose?.Invoke();
    }
}
