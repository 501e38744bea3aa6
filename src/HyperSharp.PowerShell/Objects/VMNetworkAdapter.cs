namespace HyperSharp.PowerShell;

/// <summary>Get-VMNetworkAdapter's object (also in VirtualMachine.NetworkAdapters), with Hyper-V's property names.</summary>
public sealed class VMNetworkAdapter
{
    public required string ComputerName { get; init; }
    public required string Name { get; init; }
    /// <summary>Unique within the VM; adapters may share a name ("Network Adapter"), so cmdlets address them by this.</summary>
    public required string Id { get; init; }
    public required string VMName { get; init; }
    public required Guid VMId { get; init; }
    /// <summary>Empty when the adapter is not connected to a switch.</summary>
    public required string SwitchName { get; init; }
    public required Guid? SwitchId { get; init; }
    public required bool Connected { get; init; }
    /// <summary>12 hex digits, no separators, as Hyper-V prints it.</summary>
    public required string MacAddress { get; init; }
    public required bool DynamicMacAddressEnabled { get; init; }
    public required OnOffState MacAddressSpoofing { get; init; }
    public required OnOffState DhcpGuard { get; init; }
    public required OnOffState RouterGuard { get; init; }
    /// <summary>On: the guest reads <see cref="Name"/> as the PCI slot's firmware label; Off (Hyper-V's default): no label.</summary>
    public required OnOffState DeviceNaming { get; init; }
    public required VMNetworkAdapterBandwidthSetting BandwidthSetting { get; init; }
    public required VMNetworkAdapterVlanSetting VlanSetting { get; init; }
    /// <summary>Hyper-V's column shows {Ok}; here also {Disconnected} or what is wrong.</summary>
    public required string[] Status { get; init; }
    /// <summary>The guest's addresses on this adapter, as its agent reports them (Key-Value Pair Exchange); empty without an agent.</summary>
    public required string[] IPAddresses { get; init; }
    public bool IsLegacy => false;
    /// <summary>Adapters of the host itself (Hyper-V's -ManagementOS) are not modelled: always false.</summary>
    public bool IsManagementOs => false;
    // HyperSharp's own: the PCI slot while the VM runs, else -1.
    public required int PciSlot { get; init; }

    public override string ToString() => $"VMNetworkAdapter (Name = '{Name}', VMName = '{VMName}') [VMId = '{VMId}']";
}

/// <summary>An adapter's bandwidth limits (Set-VMNetworkAdapter -MaximumBandwidth).</summary>
public sealed class VMNetworkAdapterBandwidthSetting
{
    /// <summary>Bits per second; 0 is unlimited.</summary>
    public required long MaximumBandwidth { get; init; }
    public override string ToString() => $"MaximumBandwidth = {MaximumBandwidth}";
}

/// <summary>Get-VMNetworkAdapterVlan's object: an adapter's VLAN mode.</summary>
public sealed class VMNetworkAdapterVlanSetting
{
    public required string ComputerName { get; init; }
    public required string VMName { get; init; }
    public required Guid VMId { get; init; }
    /// <summary>The adapter's name (Hyper-V's ParentAdapter.Name).</summary>
    public required string VMNetworkAdapterName { get; init; }
    public required string AdapterId { get; init; }
    public required VMNetworkAdapterVlanMode OperationMode { get; init; }
    /// <summary>The VLAN of an Access port; 0 when Untagged.</summary>
    public required int AccessVlanId { get; init; }
    public int NativeVlanId => 0;
    public string AllowedVlanIdList => "";

    public override string ToString() => OperationMode == VMNetworkAdapterVlanMode.Access ? $"Access {AccessVlanId}" : OperationMode.ToString();
}
