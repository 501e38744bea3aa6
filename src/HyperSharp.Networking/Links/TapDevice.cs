using HyperSharp.Networking.Interop;
using static HyperSharp.Networking.Interop.NetCalls;

namespace HyperSharp.Networking.Links;

/// <summary>
/// A TAP interface the switch owns (Internal switches): the host's side of the switch. It is
/// created non-persistent, so the kernel deletes the interface when the descriptor closes — a
/// crash or a failed setup never leaves a stale interface behind. Created in the calling thread's
/// network namespace.
/// </summary>
public static unsafe class TapDevice
{
    /// <summary>Creates TAP <paramref name="name"/> (IFF_TAP | IFF_NO_PI), sets it up, and returns the link over it.</summary>
    public static FileDescriptorLink Create(string name)
    {
        InterfaceName.Validate(name);
        if (InterfaceName.Exists(name))
            throw new NetworkSetupException($"cannot create TAP interface {name}: an interface of that name already exists; choose another name or remove it");
        int fd = open("/dev/net/tun", ORdWr | ONonblock | OCloexec);
        if (fd < 0)
            throw new NetworkSetupException($"cannot create TAP interface {name}: /dev/net/tun: {Describe(LastError)}{Hint(LastError)}");
        try
        {
            var request = Request(name);
            request.Flags = IffTap | IffNoPi;
            if (ioctl(fd, TunSetIff, &request) != 0)
                throw new NetworkSetupException($"cannot create TAP interface {name}: {Describe(LastError)}{Hint(LastError)}");
            SetUp(name);
            return new FileDescriptorLink(fd, "tap " + name);
        }
        catch
        {
            close(fd); // the interface was not persistent: closing removes it, the host is as it was
            throw;
        }
    }

    /// <summary>Sets IFF_UP on an interface, as `ip link set NAME up` does.</summary>
    private static void SetUp(string name)
    {
        int s = socket(AfInet, SockDgram | SockCloexec, 0);
        if (s < 0) throw new NetworkSetupException($"cannot bring {name} up: {Describe(LastError)}");
        try
        {
            var request = Request(name);
            if (ioctl(s, SiocGIfFlags, &request) != 0) throw new NetworkSetupException($"cannot read the flags of {name}: {Describe(LastError)}");
            request.Flags |= IffUp;
            if (ioctl(s, SiocSIfFlags, &request) != 0) throw new NetworkSetupException($"cannot bring {name} up: {Describe(LastError)}{Hint(LastError)}");
        }
        finally { close(s); }
    }

    internal static string Hint(int errno) => errno is EPERM or EACCES
        ? " — this needs CAP_NET_ADMIN (run the host service as root or grant the capability)"
        : errno == ENODEV || errno == 2 ? " — the tun driver is missing (modprobe tun)" : "";
}
