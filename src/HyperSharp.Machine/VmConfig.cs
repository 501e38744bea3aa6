using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;

namespace HyperSharp.Machine;

/// <summary>A disk to attach as virtio-blk.</summary>
public sealed record DiskAttachment(string Path, bool ReadOnly = false)
{
    /// <summary>The PCI slot's firmware label the guest reads (Linux: /sys/bus/pci/devices/BDF/label); null for none.</summary>
    public string? Label { get; init; }

    /// <summary>The PCI slot id (bus 0's 1-28, or behind a bridge, see PciHotplugTopology) to put the disk in; null for the first free one. A saved configuration records it.</summary>
    public int? Slot { get; init; }
}

/// <summary>
/// A disk on a SCSI controller: its image, its location (0-63: the LUN the guest sees on the controller's target), and
/// whether it is read-only or shared with other VMs (a guest cluster's disk: opened for several writers, not thinly provisioned).
/// </summary>
public sealed record ScsiDiskAttachment(string Path, int Location, bool ReadOnly = false, bool Shared = false)
{
    /// <summary>The drive's name (the host's "Hard Drive on SCSI controller number N at location L"): what Storage QoS finds it by; null for none.</summary>
    public string? Label { get; init; }
}

/// <summary>
/// A SCSI controller (virtio-scsi): Hyper-V's controller number is its place in <see cref="VmConfig.ScsiControllers"/>,
/// and its disks sit at locations 0-63 of its one target.
/// </summary>
public sealed record ScsiControllerAttachment
{
    public IReadOnlyList<ScsiDiskAttachment> Disks { get; init; } = [];

    /// <summary>The PCI slot's firmware label the guest reads; null for none.</summary>
    public string? Label { get; init; }

    /// <summary>The PCI slot to put the controller in; null for the first free one. A saved configuration records it.</summary>
    public int? Slot { get; init; }
}

/// <summary>
/// A network adapter to attach as virtio-net: its name, MAC address, the switch it belongs to, and
/// how to reach its switch port — an in-process link in embedded mode, the worker's seqpacket
/// socket under the host service. Without <paramref name="Connect"/> the adapter starts unplugged.
/// </summary>
public sealed record NetworkAdapterAttachment(string Name, MacAddress Mac, string? SwitchName = null, Func<IFrameLink>? Connect = null)
{
    /// <summary>
    /// The PCI slot label the guest reads; null for none. The host keeps a stable id as <see cref="Name"/> and labels the
    /// slot with the adapter's (renamable) name when its device naming is on.
    /// </summary>
    public string? Label { get; init; }

    /// <summary>The PCI slot id (see PciHotplugTopology) to put the adapter in; null for the first free one. A saved configuration records it.</summary>
    public int? Slot { get; init; }
}

/// <summary>
/// A virtio-vsock device: the guest's CID and the VM's Unix socket, where host processes connect to guest ports
/// ("CONNECT port\n") and the guest's connections to port P arrive at <c>SocketPath_P</c>.
/// </summary>
public sealed record VsockAttachment(string SocketPath, ulong GuestCid = 3)
{
    /// <summary>The PCI slot (1-31); null for the first free one. A saved configuration records it.</summary>
    public int? Slot { get; init; }
}

/// <summary>
/// Memory that changes while the VM runs: a virtio-balloon (the guest gives memory back, reports its statistics and its
/// free pages) and hot-add memory (virtio-mem) up to <see cref="MaximumSize"/>.
/// </summary>
public sealed record RuntimeMemoryAttachment
{
    /// <summary>Attach the balloon.</summary>
    public bool Balloon { get; init; } = true;

    /// <summary>Let the guest take balloon pages back rather than run out of memory (virtio-balloon's DEFLATE_ON_OOM).</summary>
    public bool DeflateOnOutOfMemory { get; init; } = true;

    /// <summary>Let the guest report memory it frees, which then goes back to the host (virtio-balloon's PAGE_REPORTING).</summary>
    public bool FreePageReporting { get; init; } = true;

    /// <summary>The most memory the guest may have (Hyper-V's MaximumBytes); above the boot size, the difference (rounded up to 128 MiB) can be hot-added. 0: no hot-add.</summary>
    public ulong MaximumSize { get; init; }

    /// <summary>The balloon's PCI slot; null for the first free one. A saved configuration records it.</summary>
    public int? BalloonSlot { get; init; }

    /// <summary>The hot-add device's PCI slot; null for the first free one. A saved configuration records it.</summary>
    public int? HotAddSlot { get; init; }

    /// <summary>Bytes of guest-physical space kept for hot-add for a VM that boots with <paramref name="memorySize"/>.</summary>
    public ulong HotAddSize(ulong memorySize) => MaximumSize > memorySize ? MaximumSize - memorySize : 0;
}

/// <summary>What one virtual machine is: processors, memory, what it boots, its disks, and where its console goes.</summary>
public sealed record VmConfig
{
    public int Processors { get; init; } = 1;

    /// <summary>The vendor the processors present; null for the backend's default (Emulated: GenuineIntel; Kvm: the host's).</summary>
    public HyperSharp.Hypervisor.ProcessorVendor? ProcessorVendor { get; init; }

    public ulong MemorySize { get; init; } = 512UL << 20;
    /// <summary>The Linux kernel the host loads and enters directly; empty when the VM boots through <see cref="Firmware"/>.</summary>
    public string KernelPath { get; init; } = "";

    /// <summary>Nested virtualization: the processors present VMX/SVM; the backend refuses the VM where it cannot (see PartitionOptions).</summary>
    public bool ExposeVirtualizationExtensions { get; init; }

    /// <summary>The firmware the VM boots through from its own disks (Generation 1: SeaBIOS); null: it boots <see cref="KernelPath"/>.</summary>
    public Firmware.VmFirmware? Firmware { get; init; }
    public string? InitrdPath { get; init; }
    public string CommandLine { get; init; } = "console=ttyS0";
    public IReadOnlyList<DiskAttachment> Disks { get; init; } = [];
    public IReadOnlyList<NetworkAdapterAttachment> NetworkAdapters { get; init; } = [];

    /// <summary>The integration-services channel (virtio-vsock); null for none.</summary>
    public VsockAttachment? Vsock { get; init; }
    /// <summary>The balloon and hot-add memory; null for neither (the memory stays as it booted).</summary>
    public RuntimeMemoryAttachment? RuntimeMemory { get; init; }

    /// <summary>SCSI controllers (at most <see cref="ScsiControllers.MaxControllers"/>), each with its disks; controller n is the n-th.</summary>
    public IReadOnlyList<ScsiControllerAttachment> ScsiControllers { get; init; } = [];

    /// <summary>
    /// PCI-to-PCI bridges behind which devices get hotplug slots (0-7, 32 slots each; they take bus 0's last slots): the
    /// default 3 makes room for 68 network adapters and more (124 slots). A saved configuration records it.
    /// </summary>
    public int PciBridges { get; init; } = DefaultPciBridges;

    public const int DefaultPciBridges = 3;

    /// <summary>The entropy device's PCI slot; null for the first free one after the disks (a saved configuration records it).</summary>
    public int? EntropySlot { get; init; }

    /// <summary>Receives every byte the guest writes to COM1.</summary>
    public Action<byte> ConsoleOutput { get; init; } = _ => { };

    /// <summary>Where device errors and VMM notices go (rate-limited per device).</summary>
    public Action<string> Log { get; init; } = _ => { };
}

/// <summary>Why a virtual machine stopped running.</summary>
public enum VmStopReason { PowerOff, Reset, TripleFault, GuestCrash, HostError, Stopped }

/// <summary>The outcome of <see cref="VirtualMachine.Run"/>: the reason and, for errors, what happened.</summary>
public sealed record VmStopped(VmStopReason Reason, string? Detail = null);
