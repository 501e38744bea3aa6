using HyperSharp.Networking.Interop;
using static HyperSharp.Networking.Interop.NetCalls;

namespace HyperSharp.Networking.Links;

/// <summary>
/// The uplink of an External switch: an AF_PACKET socket bound to a host interface, in promiscuous
/// mode, so frames for the VMs' MACs reach the switch and the VMs' frames leave through the wire.
/// Promiscuity is a socket membership the kernel drops when the socket closes, so the host
/// interface is left exactly as it was. Frames this socket sends are not read back. VLAN tags the
/// kernel strips on receive (VLAN offload) are put back from PACKET_AUXDATA, so the switch's uplink
/// trunk sees tagged frames as they were on the wire.
/// </summary>
public static unsafe class PacketSocketLink
{
    public static FileDescriptorLink Open(string interfaceName)
    {
        InterfaceName.Validate(interfaceName);
        int index = (int)if_nametoindex(interfaceName);
        if (index == 0) throw new NetworkSetupException($"cannot bridge to {interfaceName}: no such network interface on this host");
        // Protocol 0 receives nothing until bind names ETH_P_ALL, so no frame from another interface slips in first.
        int fd = socket(AfPacket, SockRaw | SockNonblock | SockCloexec, 0);
        if (fd < 0) throw new NetworkSetupException($"cannot bridge to {interfaceName}: packet socket: {Describe(LastError)}{TapDevice.Hint(LastError)}");
        try
        {
            int one = 1;
            if (setsockopt(fd, SolPacket, PacketIgnoreOutgoing, &one, sizeof(int)) != 0)
                throw new NetworkSetupException($"cannot bridge to {interfaceName}: PACKET_IGNORE_OUTGOING (Linux 4.20+): {Describe(LastError)}");
            if (setsockopt(fd, SolPacket, PacketAuxData, &one, sizeof(int)) != 0)
                throw new NetworkSetupException($"cannot bridge to {interfaceName}: PACKET_AUXDATA: {Describe(LastError)}");
            var address = new SockAddrLl { Family = AfPacket, Protocol = HostToNetwork(EthPAll), IfIndex = index };
            if (bind(fd, &address, sizeof(SockAddrLl)) != 0)
                throw new NetworkSetupException($"cannot bridge to {interfaceName}: bind: {Describe(LastError)}");
            var membership = new PacketMreq { IfIndex = index, Type = PacketMrPromisc };
            if (setsockopt(fd, SolPacket, PacketAddMembership, &membership, sizeof(PacketMreq)) != 0)
                throw new NetworkSetupException($"cannot bridge to {interfaceName}: promiscuous mode: {Describe(LastError)}");
            return new FileDescriptorLink(fd, "packet " + interfaceName, vlanFromAuxData: true);
        }
        catch
        {
            close(fd);
            throw;
        }
    }
}
