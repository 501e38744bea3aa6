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
    private readonly bool _vlanFromAuxData;
    private Thread? _reader;
    private int _disposed;

    /// <summary>
    /// Takes ownership of <paramref name="fd"/> (already non-blocking); <paramref name="onDispose"/> runs after it is closed.
    /// <paramref name="vlanFromAuxData"/>: a packet socket with PACKET_AUXDATA on, whose frames arrive with the VLAN tag stripped
    /// by the kernel (VLAN offload) and reported beside them; the tag is put back so the switch sees the frame as it was on the wire.
    /// </summary>
    public FileDescriptorLink(int fd, string description, Action? onDispose = null, bool vlanFromAuxData = false)
    {
        _fd = fd;
        _vlanFromAuxData = vlanFromAuxData;
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
                    int start = 0;
                    nint n = _vlanFromAuxData ? ReadWithVlan(buffer, out start) : read(_fd, buffer, BufferSize);
                    if (n < 0) { if (LastError is EAGAIN or EINTR) break; return; }
                    if (n == 0) return;
                    // Safe: the read wrote n bytes from buffer + start, inside the BufferSize bytes we own until the loop ends.
                    DeliverSafely(receiver, new ReadOnlySpan<byte>(buffer + start, (int)n));
                }
            }
        }
        finally { NativeMemory.Free(buffer); }
    }

    /// <summary>
    /// recvmsg with the auxiliary data: the frame lands 4 bytes into the buffer, and if the kernel took a VLAN tag off,
    /// the addresses move back 4 bytes and the tag goes between them and the EtherType. Returns the length; start is where it begins.
    /// </summary>
    private nint ReadWithVlan(byte* buffer, out int start)
    {
        start = 4;
        var control = stackalloc byte[64];
        var iov = new IoVec { Base = buffer + 4, Length = BufferSize - 4 };
        var message = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 64 };
        nint n = recvmsg(_fd, &message, 0);
        if (n < 12) return n;
        for (nuint at = 0; at + 16 <= message.ControlLength;)
        {
            nuint length = *(nuint*)(control + at);
            if (length < 16) break;
            if (*(int*)(control + at + 8) == SolPacket && *(int*)(control + at + 12) == PacketAuxData && length >= 16 + 20)
            {
                byte* aux = control + at + 16; // struct tpacket_auxdata: status, len, snaplen, mac, net, vlan_tci, vlan_tpid
                uint status = *(uint*)aux;
                if ((status & TpStatusVlanValid) == 0) break;
                ushort tci = *(ushort*)(aux + 16), tpid = (status & TpStatusVlanTpidValid) != 0 ? *(ushort*)(aux + 18) : (ushort)0x8100;
                Buffer.MemoryCopy(buffer + 4, buffer, 12, 12);
                buffer[12] = (byte)(tpid >> 8); buffer[13] = (byte)tpid;
                buffer[14] = (byte)(tci >> 8); buffer[15] = (byte)tci;
                start = 0;
                return n + 4;
            }
            at += (length + 7) & ~(nuint)7;
        }
        return n;
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
