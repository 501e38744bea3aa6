namespace HyperSharp.Inventory;

/// <summary>
/// One network adapter of a VM as stored in vm.json (Get-VMNetworkAdapter's settings). The switch is kept by
/// id, so renaming a switch does not disconnect anything; an id no switch has any more reads as disconnected.
/// </summary>
public sealed record NetworkAdapterSettings
{
    public required Guid Id { get; init; }
    public required string Name { get; init; }

    /// <summary>The switch it is connected to; null when disconnected.</summary>
    public Guid? SwitchId { get; init; }

    /// <summary>The MAC address as 12 hex digits, no separators (Hyper-V's form).</summary>
    public required string MacAddress { get; init; }

    /// <summary>True: handed out from the host's pool (and given back when the adapter goes); false: static.</summary>
    public bool DynamicMacAddress { get; init; } = true;

    public bool MacAddressSpoofing { get; init; }
    public bool DhcpGuard { get; init; }
    public bool RouterGuard { get; init; }

    /// <summary>Bits per second the VM may send; 0 is unlimited.</summary>
    public long MaximumBandwidth { get; init; }

    /// <summary>Access VLAN, 1 to 4094; 0 untagged.</summary>
    public int AccessVlanId { get; init; }

    /// <summary>
    /// Device naming (Add-/Set-VMNetworkAdapter -DeviceNaming): whether the guest sees <see cref="Name"/> as the PCI slot's
    /// firmware label. A new adapter gets Off, as in Hyper-V. Null in files written before the setting existed: those read
    /// as On (<see cref="GuestLabel"/>), because every adapter's name reached the guest then and its configuration may rely
    /// on it (an interface named after its label); hiding the names on a host upgrade would rename nothing but break that.
    /// No version bump: an older build ignores the field and shows the name, as it always did.
    /// </summary>
    public bool? DeviceNaming { get; init; }

    /// <summary>Device naming as it applies: <see cref="DeviceNaming"/>, On when a file predates it.</summary>
    public bool NamesDevice() => DeviceNaming ?? true;

    /// <summary>The slot label the guest reads: the name with device naming on, none with it off.</summary>
    public string? GuestLabel() => NamesDevice() ? Name : null;
}
