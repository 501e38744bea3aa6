using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.State;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;

namespace HyperSharp.Machine.State;

/// <summary>A network adapter as saved: name, MAC, switch and PCI slot (files from before slots were kept have none); the host reconnects it to a port on restore.</summary>
public sealed record SavedNetworkAdapter(string Name, string Mac, string? SwitchName, int? Slot = null);

/// <summary>
/// The configuration a saved VM is rebuilt from (what VmConfig holds, minus the host callbacks). Files saved before
/// hotplug, network adapters, vsock, SCSI controllers or PCI bridges existed have none of them (and restore without bridges,
/// as the machine they were saved from had none); files saved before the
/// processor vendor was a choice have none, and restore with the backend's default, which is what those builds presented.
/// </summary>
public sealed record SavedVmConfig(int Processors, ulong MemorySize, string KernelPath, string? InitrdPath, string CommandLine, DiskAttachment[] Disks,
    int? EntropySlot = null, SavedNetworkAdapter[]? NetworkAdapters = null, string? ProcessorVendor = null, VsockAttachment? Vsock = null,
    ScsiControllerAttachment[]? ScsiControllers = null, int? PciBridges = null, RuntimeMemoryAttachment? RuntimeMemory = null)
{
    public static SavedVmConfig From(VmConfig c) => new(c.Processors, c.MemorySize, c.KernelPath, c.InitrdPath, c.CommandLine, [.. c.Disks], c.EntropySlot,
        [.. c.NetworkAdapters.Select(n => new SavedNetworkAdapter(n.Name, n.Mac.ToString(), n.SwitchName, n.Slot))],
        c.ProcessorVendor?.VendorString(), c.Vsock, [.. c.ScsiControllers], c.PciBridges, c.RuntimeMemory);

    /// <summary>The saved vendor (a CPUID vendor string), or null for the backend's default.</summary>
    private ProcessorVendor? Vendor => ProcessorVendor is null ? null
        : ProcessorVendors.FromVendorString(ProcessorVendor)
            ?? throw new InvalidDataException($"the saved configuration names processor vendor '{ProcessorVendor}'; this build presents GenuineIntel or AuthenticAMD");

    /// <summary>The configuration to rebuild the VM from; console, log and how adapters reach their switch ports are the caller's.</summary>
    public VmConfig ToConfig(Action<byte>? console = null, Action<string>? log = null, Func<SavedNetworkAdapter, Func<IFrameLink>?>? connect = null) => new()
    {
        Processors = Processors, ProcessorVendor = Vendor, MemorySize = MemorySize, KernelPath = KernelPath, InitrdPath = InitrdPath,
        CommandLine = CommandLine, Disks = Disks, EntropySlot = EntropySlot, Vsock = Vsock,
        ScsiControllers = ScsiControllers ?? [], PciBridges = PciBridges ?? 0, RuntimeMemory = RuntimeMemory, ConsoleOutput = console ?? (_ => { }), Log = log ?? (_ => { }),
        NetworkAdapters = [.. (NetworkAdapters ?? []).Select(n => new NetworkAdapterAttachment(n.Name, MacAddress.Parse(n.Mac), n.SwitchName, connect?.Invoke(n)) { Slot = n.Slot })],
    };

    internal void Write(StateWriter w)
    {
        w.I32(Processors); w.U64(MemorySize); w.String(KernelPath); w.OptionalString(InitrdPath); w.String(CommandLine);
        w.Array(Disks, static (w, d) => { w.String(d.Path); w.Bool(d.ReadOnly); w.OptionalString(d.Label); w.OptionalI32(d.Slot); });
        w.OptionalI32(EntropySlot);
        w.Array(NetworkAdapters ?? [], static (w, n) => { w.String(n.Name); w.String(n.Mac); w.OptionalString(n.SwitchName); w.OptionalI32(n.Slot); });
        w.OptionalString(ProcessorVendor);
        w.Bool(Vsock is not null);
        if (Vsock is { } v) { w.String(v.SocketPath); w.U64(v.GuestCid); w.OptionalI32(v.Slot); }
        w.Array(ScsiControllers ?? [], static (w, c) =>
        {
            w.OptionalString(c.Label); w.OptionalI32(c.Slot);
            w.Array([.. c.Disks], static (w, d) => { w.String(d.Path); w.I32(d.Location); w.Bool(d.ReadOnly); w.Bool(d.Shared); });
        });
        w.OptionalI32(PciBridges);
        // Version 2 on: the balloon and hot-add memory.
        w.Bool(RuntimeMemory is not null);
        if (RuntimeMemory is { } m) { w.Bool(m.Balloon); w.Bool(m.DeflateOnOutOfMemory); w.Bool(m.FreePageReporting); w.U64(m.MaximumSize); w.OptionalI32(m.BalloonSlot); w.OptionalI32(m.HotAddSlot); }
        // Version 3 on: the SCSI disks' drive names (what Storage QoS finds them by), controller by controller, in the order above.
        w.Array(ScsiControllers ?? [], static (w, c) => w.Array([.. c.Disks], static (w, d) => w.OptionalString(d.Label)));
    }

    internal static SavedVmConfig Read(ref StateReader r, ushort version)
    {
        var config = new SavedVmConfig(r.I32(), r.U64(), r.String(), r.OptionalString(), r.String(),
            r.Array(6, static (ref StateReader r) => new DiskAttachment(r.String(), r.Bool()) { Label = r.OptionalString(), Slot = r.OptionalI32() }),
            r.OptionalI32(),
            r.Array(10, static (ref StateReader r) => new SavedNetworkAdapter(r.String(), r.String(), r.OptionalString(), r.OptionalI32())),
            r.OptionalString(),
            r.Bool() ? new VsockAttachment(r.String(), r.U64()) { Slot = r.OptionalI32() } : null,
            r.Array(3, static (ref StateReader r) => new ScsiControllerAttachment
            {
                Label = r.OptionalString(), Slot = r.OptionalI32(),
                Disks = r.Array(7, static (ref StateReader r) => new ScsiDiskAttachment(r.String(), r.I32(), r.Bool(), r.Bool())),
            }),
            r.OptionalI32(),
            version >= 2 && r.Bool()
                ? new RuntimeMemoryAttachment { Balloon = r.Bool(), DeflateOnOutOfMemory = r.Bool(), FreePageReporting = r.Bool(), MaximumSize = r.U64(), BalloonSlot = r.OptionalI32(), HotAddSlot = r.OptionalI32() }
                : null);
        return version >= 3 ? config.WithScsiLabels(ref r) : config;
    }

    /// <summary>Reads the SCSI disks' drive names (version 3 on) into the controllers just read.</summary>
    private SavedVmConfig WithScsiLabels(ref StateReader r)
    {
        var controllers = ScsiControllers ?? [];
        var labels = r.Array(1, static (ref StateReader r) => r.Array(1, static (ref StateReader r) => r.OptionalString()));
        if (labels.Length != controllers.Length || labels.Where((l, i) => l.Length != controllers[i].Disks.Count).Any())
            throw r.Damaged(0, $"the SCSI drive names ({string.Join("/", labels.Select(l => l.Length))}) do not match the SCSI disks listed ({string.Join("/", controllers.Select(c => c.Disks.Count))})");
        return this with { ScsiControllers = [.. controllers.Select((c, i) => c with { Disks = [.. c.Disks.Select((d, k) => d with { Label = labels[i][k] })] })] };
    }
}
