using System.Text.Json;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;

namespace HyperSharp.Machine.State;

/// <summary>A network adapter as saved: name, MAC, switch and PCI slot (files from before slots were kept have none); the host reconnects it to a port on restore.</summary>
public sealed record SavedNetworkAdapter(string Name, string Mac, string? SwitchName, int? Slot = null);

/// <summary>
/// The configuration a saved VM is rebuilt from (what VmConfig holds, minus the host callbacks). Files saved before
/// hotplug, network adapters, SCSI controllers or PCI bridges existed have no entropy slot, no adapters, no controllers and no bridges.
/// </summary>
public sealed record SavedVmConfig(int Processors, ulong MemorySize, string KernelPath, string? InitrdPath, string CommandLine, DiskAttachment[] Disks,
    int? EntropySlot = null, SavedNetworkAdapter[]? NetworkAdapters = null, ScsiControllerAttachment[]? ScsiControllers = null, int? PciBridges = null)
{
    public static SavedVmConfig From(VmConfig c) => new(c.Processors, c.MemorySize, c.KernelPath, c.InitrdPath, c.CommandLine, [.. c.Disks], c.EntropySlot,
        [.. c.NetworkAdapters.Select(n => new SavedNetworkAdapter(n.Name, n.Mac.ToString(), n.SwitchName, n.Slot))], [.. c.ScsiControllers], c.PciBridges);

    /// <summary>The configuration to rebuild the VM from; console, log and how adapters reach their switch ports are the caller's.</summary>
    public VmConfig ToConfig(Action<byte>? console = null, Action<string>? log = null, Func<SavedNetworkAdapter, Func<IFrameLink>?>? connect = null) => new()
    {
        Processors = Processors, MemorySize = MemorySize, KernelPath = KernelPath, InitrdPath = InitrdPath,
        CommandLine = CommandLine, Disks = Disks, EntropySlot = EntropySlot, ScsiControllers = ScsiControllers ?? [], PciBridges = PciBridges ?? 0, ConsoleOutput = console ?? (_ => { }), Log = log ?? (_ => { }),
        NetworkAdapters = [.. (NetworkAdapters ?? []).Select(n => new NetworkAdapterAttachment(n.Name, MacAddress.Parse(n.Mac), n.SwitchName, connect?.Invoke(n)) { Slot = n.Slot })],
    };
}

/// <summary>
/// Everything a saved VM is: configuration, backend platform state, one processor record per vCPU
/// (VirtualProcessorStateSerializer bytes), device records keyed by device id, and guest memory as
/// runs of touched pages. Versioned: version 1 files stay readable by later versions.
/// </summary>
public sealed record VmSavedState(int Version, string Backend, SavedVmConfig Config, byte[] Platform, byte[][] Processors, Dictionary<string, JsonElement> Devices)
{
    public const int CurrentVersion = 1;
    public static readonly byte[] Magic = "HSVMSAVE"u8.ToArray();
}
