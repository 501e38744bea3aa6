using HyperSharp.Networking.Frames;

namespace HyperSharp.Networking.Switching;

/// <summary>What sits behind a port: a VM's adapter, the host's TAP interface (Internal), or the uplink to a host adapter (External).</summary>
public enum PortRole { VirtualMachine, Host, Uplink }

/// <summary>
/// A port's policies, as Hyper-V's Set-VMNetworkAdapter and Set-VMNetworkAdapterVlan set them.
/// Spoofing protection and the guards apply to VM ports; the uplink is a trunk that carries every
/// VLAN tagged, all other ports are access ports of <see cref="VlanId"/> (0: untagged).
/// </summary>
public sealed record PortSettings
{
    public PortRole Role { get; init; } = PortRole.VirtualMachine;

    /// <summary>The adapter's MAC address; with spoofing protection on, frames from any other source are dropped.</summary>
    public MacAddress? MacAddress { get; init; }

    /// <summary>Allow frames whose source is not the adapter's MAC (Hyper-V -MacAddressSpoofing On).</summary>
    public bool MacAddressSpoofing { get; init; }

    /// <summary>Drop DHCP server messages sent from this port (Hyper-V -DhcpGuard On).</summary>
    public bool DhcpGuard { get; init; }

    /// <summary>Drop router advertisements and redirects sent from this port (Hyper-V -RouterGuard On).</summary>
    public bool RouterGuard { get; init; }

    /// <summary>Access VLAN, 1 to 4094; 0 when the port is untagged.</summary>
    public ushort VlanId { get; init; }

    /// <summary>Most bits per second the port may send into the switch; 0 is unlimited (Hyper-V -MaximumBandwidth).</summary>
    public long MaximumBandwidth { get; init; }

    public void Validate()
    {
        if (VlanId > 4094) throw new ArgumentOutOfRangeException(nameof(VlanId), $"VLAN {VlanId}: 1 to 4094 (0 for untagged)");
        if (MaximumBandwidth < 0) throw new ArgumentOutOfRangeException(nameof(MaximumBandwidth), "bandwidth cannot be negative");
        if (MacAddress is { IsMulticast: true } mac) throw new ArgumentException($"{mac} is a multicast address; an adapter needs a unicast MAC");
    }
}
