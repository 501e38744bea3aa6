using HyperSharp.Hypervisor;
using HyperSharp.Machine.Acpi;
using HyperSharp.Machine.Boot;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Devices.I8042;
using HyperSharp.Machine.Devices.Pm;
using HyperSharp.Machine.Devices.Rtc;
using HyperSharp.Machine.Devices.Serial;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Pci;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Virtio.Block;
using HyperSharp.Machine.Virtio.Net;
using HyperSharp.Machine.Virtio.Pci;
using HyperSharp.Networking.Links;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine;

/// <summary>
/// Assembles a <see cref="VirtualMachine"/> as a list of small attach steps — memory, chipset, PCI,
/// disks, ACPI, kernel, processors — on any backend. Each step owns one concern; none knows the others' devices.
/// </summary>
public sealed class VirtualMachineBuilder(IHypervisor hypervisor, VmConfig config)
{
    private const ulong MaxSlotSize = 1UL << 40; // backends cap slot sizes (KVM below 8 TiB); 1 TiB slots keep every backend happy
    private readonly List<IDisposable> _owned = [];
    private readonly MachineLayout _layout = MachineLayout.For(config.MemorySize);
    private IPartition _partition = null!;
    private GuestMemory _memory = null!;
    private GuestRam _ram = null!;
    private IoBus<IPortIoDevice> _ports = null!;
    private IoBus<IMmioDevice> _mmio = null!;
    private PciRoot _pci = null!;
    private Serial16550 _console = null!;
    private AcpiPm _pm = null!;
    private VirtualMachine? _vm;
    private AcpiBlob _acpi = null!;
    private LinuxBootPlan _boot = null!;
    private readonly DeviceStateRegistry _devices = new();
    private (VmSavedState State, Stream Memory, string Path)? _restore;

    /// <summary>Rebuilds a saved VM from its state file (same backend kind); run it to continue where it stopped.</summary>
    public static VirtualMachine Restore(IHypervisor hypervisor, string path, Action<byte> console, Action<string> log,
        Func<SavedNetworkAdapter, Func<IFrameLink>?>? connectAdapter = null)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var state = VmStateFile.ReadHeader(file, path);
        if (state.Backend != hypervisor.Name)
            throw new InvalidDataException($"{path} was saved on the {state.Backend} backend; restore it there (this is {hypervisor.Name})");
        var config = state.Config.ToConfig(console, log, connectAdapter);
        return new VirtualMachineBuilder(hypervisor, config) { _restore = (state, file, path) }.Build();
    }

    public VirtualMachine Build()
    {
        if (config.Processors is < 1 or > 240) throw new ArgumentOutOfRangeException(nameof(config), $"{config.Processors} processors: 1 to 240 are supported");
        try
        {
            _partition = hypervisor.CreatePartition(new PartitionOptions { ProcessorCount = config.Processors });
            AttachMemory();
            AttachChipset();
            AttachPci();
            AttachDisks();
            AttachEntropy();
            AttachNetworkAdapters();
            if (_restore is null)
            {
                AttachAcpi();
                LoadKernel();
            }
            var processors = CreateProcessors();
            if (_restore is { } r) ApplySavedState(r.State, r.Memory, r.Path, processors);
            _vm = new VirtualMachine(_partition, _memory, processors, _ports, _mmio, _console, _pm, _owned, config.Log, _devices) { Disks = _disks, NetworkAdapters = _adapters };
            _boot = null!;
            // The kernel and initrd images (tens of MB on the large-object heap) are garbage once copied into
            // guest memory, and a VM runs for hours: give that memory back now rather than at some later GC.
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect();
            return _vm;
        }
        catch
        {
            foreach (var d in _owned) d.Dispose();
            _partition?.Dispose();
            _memory?.Dispose();
            throw;
        }
    }

    private void AttachMemory()
    {
        // Guest-physical address = offset in the block: the PCI hole is reserved address space that is
        // never touched (so it costs nothing), and a backend may treat RAM as one range with a hole.
        _memory = GuestMemory.Allocate(_layout.HighRamSize > 0 ? _layout.HighRamEnd : _layout.LowRamSize);
        var slots = new List<MemorySlot> { new(0, 0, _memory, 0, _layout.LowRamSize) };
        for (ulong done = 0; done < _layout.HighRamSize; done += MaxSlotSize)
            slots.Add(new MemorySlot(slots.Count, MachineLayout.HighRamStart + done, _memory, MachineLayout.HighRamStart + done, Math.Min(MaxSlotSize, _layout.HighRamSize - done)));
        foreach (var slot in slots) _partition.MapMemory(slot);
        _ram = new GuestRam(slots, _partition.NotifyDeviceWrite);
    }

    private void AttachChipset()
    {
        var errors = new DeviceErrorLog(config.Log);
        _ports = new IoBus<IPortIoDevice>("port bus", errors);
        _mmio = new IoBus<IMmioDevice>("MMIO bus", errors);
        _console = new Serial16550("com1", new PartitionInterruptLine(_partition, 4), config.ConsoleOutput);
        _ports.Add(0x3F8, 8, _console);
        _devices.Add("com1", _console.SaveState, _console.RestoreState);
        var rtc = new CmosRtc();
        _ports.Add(0x70, 2, rtc);
        _devices.Add("rtc", rtc.SaveState, rtc.RestoreState);
        var kbc = new I8042Controller(() => _vm?.Reset());
        _ports.Add(0x60, 1, kbc);
        _ports.Add(0x64, 1, kbc);
        var platform = _layout.Platform(config.Processors);
        _pm = new AcpiPm(new PartitionInterruptLine(_partition, platform.SciIrq), () => _vm?.PowerOff(), () => _vm?.Reset());
        _ports.Add(platform.PmBase, AcpiPm.Length, _pm);
        _devices.Add("acpi-pm", _pm.SaveState, _pm.RestoreState);
    }

    private void AttachPci()
    {
        _pci = new PciRoot(_mmio, _ports);
        _ports.Add(0xCF8, 8, _pci.ConfigPorts);
        _mmio.Add(MachineLayout.EcamBase, MachineLayout.EcamSize, _pci.Ecam);
    }

    private ulong _nextBar = MachineLayout.LowRamLimit;

    private readonly List<IVirtualDisk> _disks = [];

    private void AttachDisks()
    {
        foreach (var (attachment, index) in config.Disks.Select((d, i) => (d, i)))
        {
            var disk = VirtualDisk.Open(attachment.Path, new DiskOpenOptions { ReadOnly = attachment.ReadOnly });
            _owned.Add(disk);
            _disks.Add(disk);
            var device = new VirtioBlockDevice($"vd{(char)('a' + index)}", disk, _ram, queueCount: Math.Min(config.Processors, 4));
            _owned.Add(device);
            AttachVirtio(device);
        }
    }

    private readonly List<VirtioNetDevice> _adapters = [];

    /// <summary>Each adapter is virtio-net with a queue pair per vCPU (up to 4), plugged into its switch port when the host gave one.</summary>
    private void AttachNetworkAdapters()
    {
        foreach (var nic in config.NetworkAdapters)
        {
            var device = new VirtioNetDevice(nic.Name, nic.Mac, _ram, queuePairs: Math.Min(config.Processors, 4));
            _owned.Add(device);
            _adapters.Add(device);
            AttachVirtio(device);
            _devices.Add($"net/{nic.Name}", device.SaveState, device.RestoreState); // after its transport, whose restore re-activates the queues
            if (nic.Connect is { } connect) device.Connect(connect());
        }
    }

    private void AttachEntropy() => AttachVirtio(new HyperSharp.Machine.Virtio.Rng.VirtioRngDevice("rng0", _ram));

    /// <summary>Puts a virtio device on the next free PCI slot, with its BAR placed, its INTx routed and its state registered.</summary>
    private void AttachVirtio(HyperSharp.Machine.Virtio.IVirtioDevice device)
    {
        int slot = _pci.FreeSlot();
        var pci = new VirtioPciDevice(device, _ram, new PartitionMsiSink(_partition), new PartitionInterruptLine(_partition, Dsdt.GsiFor(slot, 0)), config.Log);
        AssignBars(pci);
        _pci.Add(slot, pci);
        _devices.Add($"pci/{slot:D2}", pci.SaveState, pci.RestoreState);
    }

    /// <summary>What firmware does before the OS: place each BAR in the 32-bit window and enable decoding.</summary>
    private void AssignBars(IPciDevice device)
    {
        foreach (var bar in device.Config.Bars)
        {
            if (bar is null || bar.Kind == PciBarKind.Io) continue;
            _nextBar = (_nextBar + bar.Size - 1) & ~(bar.Size - 1);
            device.Config.AssignBar(bar.Index, _nextBar);
            _nextBar += bar.Size;
        }
        device.Config.Write(0x04, [(byte)(PciConfigSpace.CommandMemory | PciConfigSpace.CommandBusMaster), 0]);
    }

    private void AttachAcpi()
    {
        _acpi = AcpiTables.Build(_layout.Platform(config.Processors), MachineLayout.AcpiTablesAddress);
        _ram.Write(_acpi.Address, _acpi.Data);
    }

    private void LoadKernel()
    {
        var kernel = KernelImage.Read(config.KernelPath);
        byte[]? initrd = config.InitrdPath is null ? null : File.ReadAllBytes(config.InitrdPath);
        _boot = LinuxBootPlanner.Plan(kernel, initrd, config.CommandLine, _layout.MemoryMap((ulong)_acpi.Data.Length), _acpi.RsdpAddress);
        foreach (var blob in _boot.Blobs) _ram.Write(blob.Address, blob.Data);
    }

    private void ApplySavedState(VmSavedState state, Stream memory, string path, List<IVirtualProcessor> processors)
    {
        if (state.Processors.Length != processors.Count) throw new InvalidDataException($"{path}: {state.Processors.Length} processor records for {processors.Count} processors");
        VmStateFile.ReadMemory(memory, _memory, path);
        _partition.RestorePlatformState(state.Platform);
        for (int i = 0; i < processors.Count; i++)
            processors[i].SetState(HyperSharp.Hypervisor.State.VirtualProcessorStateSerializer.Deserialize(state.Processors[i]));
        _devices.RestoreAll(state.Devices);
        _pci.RefreshMappings();
    }

    private List<IVirtualProcessor> CreateProcessors()
    {
        var processors = new List<IVirtualProcessor>();
        for (int i = 0; i < config.Processors; i++)
        {
            var vp = _partition.CreateProcessor(i);
            processors.Add(vp);
            // The boot processor starts at the kernel's 64-bit entry; the others wait for INIT/SIPI.
            if (i == 0 && _restore is null) vp.SetState(EntryState.For(_boot.Entry));
        }
        return processors;
    }
}
