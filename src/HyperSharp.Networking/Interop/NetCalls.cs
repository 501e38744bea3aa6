using System.Runtime.InteropServices;

namespace HyperSharp.Networking.Interop;

/// <summary>The libc calls links need: file descriptors, sockets, ioctls and poll.</summary>
internal static unsafe partial class NetCalls
{
    public const int ORdWr = 2, ONonblock = 0x800, OCloexec = 0x80000;
    public const int AfUnix = 1, AfInet = 2, AfPacket = 17;
    public const int SockDgram = 2, SockRaw = 3, SockSeqpacket = 5, SockNonblock = 0x800, SockCloexec = 0x80000;
    public const int SolPacket = 263, PacketAddMembership = 1, PacketMrPromisc = 1, PacketAuxData = 8, PacketIgnoreOutgoing = 23;
    public const uint TpStatusVlanValid = 0x10, TpStatusVlanTpidValid = 0x40;
    public const ushort EthPAll = 0x0003;
    public const uint TunSetIff = 0x400454CA;
    public const uint SiocGIfFlags = 0x8913, SiocSIfFlags = 0x8914;
    public const short IffUp = 0x1, IffTap = 0x0002, IffNoPi = 0x1000;
    public const short PollIn = 0x1, PollOut = 0x4;
    public const int EAGAIN = 11, EINTR = 4, ENOBUFS = 105, EPERM = 1, EACCES = 13, EBUSY = 16, ENODEV = 19, EEXIST = 17;
    public const int EfdCloexec = 0x80000, EfdNonblock = 0x800;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint recvmsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint sendmsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initial, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int bind(int fd, void* address, int length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argument);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint if_nametoindex(string name);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (x86-64 layout).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct ifreq as TUNSETIFF and SIOC[GS]IFFLAGS use it: a name, then a short of flags (the union is 24 bytes).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    public struct IfReq
    {
        public fixed byte Name[16];
        public short Flags;
    }

    /// <summary>struct sockaddr_ll (20 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrLl
    {
        public ushort Family;
        public ushort Protocol;
        public int IfIndex;
        public ushort HaType;
        public byte PktType;
        public byte HaLen;
        public fixed byte Addr[8];
    }

    /// <summary>struct packet_mreq (16 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PacketMreq
    {
        public int IfIndex;
        public ushort Type;
        public ushort ALen;
        public fixed byte Address[8];
    }

    public static ushort HostToNetwork(ushort v) => (ushort)(v << 8 | v >> 8);

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    /// <summary>Copies an interface name into an ifreq, refusing names the kernel would refuse or truncate.</summary>
    public static IfReq Request(string interfaceName)
    {
        InterfaceName.Validate(interfaceName);
        var request = new IfReq();
        for (int i = 0; i < interfaceName.Length; i++) request.Name[i] = (byte)interfaceName[i];
        return request;
    }
}
