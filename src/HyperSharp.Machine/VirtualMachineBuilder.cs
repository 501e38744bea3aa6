using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.State;
using HyperSharp.Machine.Acpi;
using HyperSharp.Machine.Boot;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Devices.I8042;
using HyperSharp.Machine.Devices.Pm;
using HyperSharp.Machine.Devices.Rtc;
using HyperSharp.Machine.Devices.Serial;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Pci;
using HyperSharp.Machine.Pci.Hotplug;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Virtio.Net;
using HyperSharp.Networking.Links;
using HyperSharp.Machine.Virtio.Pci;

namespace HyperSharp.Machine;

/// <summary>
/// Assembles a <see cref="VirtualMachine"/> as a list of small attach steps — memory, chipset, PCI,
/// disks, ACPI, kernel, processors — on any backend. Each step owns one concern; none knows the others' devices.
/// </summary>
public sealed class VirtualMachineBuilder(IHypervisor hypervisor, VmConfig config)
{
    private const ulong MaxSlotSize = 1UL << 40; // backends cap slot sizes (KVM below 8 TiB); 1 TiB slots keep every backend happy
    private readonly List<IDisposable> _owned = [];
    private readonly MachineLayout _layout = MachineLayout.For(config.MemorySize, config.RuntimeMemory?.HotAddSize(config.MemorySize) ?? 0);
    private IPartition _partition = null!;
    private GuestMemory _memory = null!;
    private GuestRam _ram = null!;
    private IoBus<IPortIoDevice> _ports = null!;
    private IoBus<IMmioDevice> _mmio = null!;
    private PciRoot _pci = null!;
    private Serial16550 _console = null!;
    private AcpiPm _pm = null!;
    private GpeBlock _gpe = null!;
    private PciSlots _slots = null!;
    private VmDisks _disks = null!;
    private ScsiControllers _scsi = null!;
    private AttachedDisks _allDisks = null!;
    private int _entropySlot;
    private VirtualMachine? _vm;
    private AcpiBlob _acpi = null!;
    private LinuxBootPlan _boot = null!;
    private readonly DeviceStateRegistry _devices = new();
    private SavedStateFile? _restore;

    /// <summary>
    /// Rebuilds a saved VM from its state file (same backend kind); run it to continue where it stopped. A state that
    /// cannot be restored (missing, a directory, damaged, truncated, newer) is a <see cref="SavedStateException"/>
    /// naming the file, never a fresh boot.
    /// </summary>
    public static VirtualMachine Restore(IHypervisor hypervisor, string path, Action<byte> console, Action<string> log,
        Func<SavedNetworkAdapter, Func<IFrameLink>?>? connectAdapter = null)
    {
        using var file = VmStateFile.Open(path);
        return Restore(hypervisor, file, null, console, log, connectAdapter);
    }

    /// <summary>
    /// Rebuilds a VM from a saved state whose disks now go on elsewhere: <paramref name="diskPath"/> maps each image the
    /// state names to the one to open (a checkpoint's state names its frozen images; the VM restored from it runs on new
    /// differencing children of them, which hold the same data). <paramref name="localize"/> replaces what belongs to the
    /// host that saved it rather than to the guest (the vsock socket in that host's VM folder, for a state that came with
    /// an imported VM) with this host's.
    /// </summary>
    public static VirtualMachine Restore(IHypervisor hypervisor, string path, Action<byte> console, Action<string> log,
        Func<SavedNetworkAdapter, Func<IFrameLink>?>? connectAdapter, Func<string, string> diskPath, Func<VmConfig, VmConfig>? localize = null)
    {
        using var file = VmStateFile.Open(path);
        return Restore(hypervisor, file, null, console, log, connectAdapter, diskPath, localize);
    }

    /// <summary>
    /// Rebuilds a VM from an open saved state; with <paramref name="memory"/> (guest memory that already holds the VM's
    /// pages, as a migration delivers them; the VM owns it once built, the caller until then) the state's own memory is not read.
    /// </summary>
    internal static VirtualMachine Restore(IHypervisor hypervisor, SavedStateFile file, GuestMemory? memory, Action<byte> console, Action<string> log,
        Func<SavedNetworkAdapter, Func<IFrameLink>?>? connectAdapter, Func<string, string>? diskPath = null, Func<VmConfig, VmConfig>? localize = null)
    {
        if (file.State.Backend != hypervisor.Name)
            throw file.Refuse(null, $"was saved on the {file.State.Backend} backend; restore it there (this is {hypervisor.Name})");
        var config = file.State.Config.ToConfig(console, log, connectAdapter);
        if (diskPath is not null)
            config = config with
            {
                Disks = [.. config.Disks.Select(d => d with { Path = diskPath(d.Path) })],
                ScsiControllers = [.. config.ScsiControllers.Select(c => c with { Disks = [.. c.Disks.Select(d => d with { Path = diskPath(d.Path) })] })],
            };
        if (localize is not null) config = localize(config);
        return new VirtualMachineBuilder(hypervisor, config) { _restore = file, _restoring = true, _filledMemory = memory }.Build();
    }

    /// <summary>
    /// Builds a VM that is arriving by migration from its configuration — partition, devices, processors — while its memory
    /// still streams into <paramref name="memory"/>, so the guest's pause covers only applying the records (<see cref="Complete"/>).
    /// <paramref name="localize"/> replaces what belongs to the source's host rather than to the guest (the vsock socket
    /// in the source's VM folder) with this host's.
    /// </summary>
    internal static VirtualMachineBuilder Prepare(IHypervisor hypervisor, SavedVmConfig saved, GuestMemory memory, Action<byte> console,
        Action<string> log, Func<SavedNetworkAdapter, Func<IFrameLink>?>? connectAdapter, Func<VmConfig, VmConfig>? localize = null)
    {
        var config = saved.ToConfig(console, log, connectAdapter);
        var builder = new VirtualMachineBuilder(hypervisor, localize is null ? config : localize(config)) { _restoring = true, _filledMemory = memory, _openWritableLater = true };
        builder.Assemble();
        return builder;
    }

    /// <summary>
    /// Opens the writable disks (the source has closed them by now: <see cref="Migration.DiskHandover"/>), applies the saved
    /// records to a VM from <see cref="Prepare"/> and returns it, ready to run.
    /// </summary>
    internal VirtualMachine Complete(SavedStateFile file)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try { Migration.DiskHandover.Open(_allDisks); }
        catch
        {
            DisposeParts(disposeMemory: false); // as Finish does on failure: the memory that arrived stays its caller's
            throw;
        }
        var opened = clock.Elapsed;
        var vm = Finish(file);
        config.Log(FormattableString.Invariant($"migration: writable disks opened in {opened.TotalMilliseconds:0.0} ms, the state applied in {(clock.Elapsed - opened).TotalMilliseconds:0.0} ms"));
        return vm;
    }

    /// <summary>Gives up a VM from <see cref="Prepare"/>: its partition and devices are disposed, its memory is left to the caller.</summary>
    internal void Abandon() => DisposeParts(disposeMemory: false);

    private GuestMemory? _filledMemory;
    private bool _restoring; // records will be applied (a restore, a migration): no kernel to load, no entry state
    private bool _openWritableLater; // a VM arriving by migration: its source still holds the writable images
    private List<IVirtualProcessor> _processors = null!;

    public VirtualMachine Build()
    {
        Assemble();
        return Finish(_restore);
    }

    private void Assemble()
    {
        if (config.Processors is < 1 or > 240) throw new ArgumentOutOfRangeException(nameof(config), $"{config.Processors} processors: 1 to 240 are supported");
        try
        {
            _partition = hypervisor.CreatePartition(new PartitionOptions { ProcessorCount = config.Processors, Vendor = config.ProcessorVendor, ExposeVirtualizationExtensions = config.ExposeVirtualizationExtensions });
            AttachMemory();
            AttachChipset();
            AttachPci();
            AttachDevices();
            AttachScsiControllers();
            AttachNetworkAdapters();
            AttachVsock();
            AttachRuntimeMemory();
            if (config.Firmware is { } firmware) AttachFirmware(firmware);
            else if (!_restoring)
            {
                AttachAcpi();
                LoadKernel();
            }
            _processors = CreateProcessors();
        }
        catch
        {
            DisposeParts(disposeMemory: _filledMemory is null); // memory that arrived stays its caller's until the VM exists
            throw;
        }
    }

    private VirtualMachine Finish(SavedStateFile? state)
    {
        try
        {
            if (state is not null) ApplySavedState(state, _processors);
            _vm = new VirtualMachine(_partition, _memory, _processors, _ports, _mmio, _console, _pm, _owned, config.Log, _devices, _disks, _entropySlot)
                {
                    AllDisks = _allDisks, NetworkAdapters = _adapters, Ram = _ram, Hotplug = new VmHotplug(_slots, _disks, _ram, _devices, AdapterQueuePairs), Scsi = _scsi, Vsock = _vsock, VsockSlot = _vsockSlot,
                    Balloon = _balloon, BalloonSlot = _balloonSlot, HotAdd = _hotAdd, HotAddSlot = _hotAddSlot, BootMemoryBytes = config.MemorySize,
                };
            _boot = null!;
            // The kernel and initrd images (tens of MB on the large-object heap) are garbage once copied into
            // guest memory, and a VM runs for hours: give that memory back now rather than at some later GC.
            // A restored or migrated VM loaded no images, and its guest waits for this moment (a migration's downtime).
            if (!_restoring)
            {
                System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect();
            }
            return _vm;
        }
        catch
        {
            DisposeParts(disposeMemory: _filledMemory is null); // memory that arrived stays its caller's until the VM exists
            throw;
        }
    }

    private void DisposeParts(bool disposeMemory)
    {
        foreach (var d in _owned) d.Dispose();
        _partition?.Dispose();
        if (disposeMemory) _memory?.Dispose();
    }

    private void AttachMemory()
    {
        // Guest-physical address = offset in the block: the PCI hole is reserved address space that is
        // never touched (so it costs nothing), and a backend may treat RAM as one range with a hole.
        // The hot-add region (if any) is reserved with it: untouched, it costs address space only.
        ulong size = _layout.AddressSpaceEnd;
        if (_filledMemory is { } filled && filled.Size != size)
            throw new SavedStateException(_restore?.Path ?? "the migrated VM", $"the guest memory that arrived is 0x{filled.Size:X} bytes; the configuration's layout needs 0x{size:X}");
        _memory = _filledMemory ?? GuestMemory.Allocate(size);
        var slots = new List<MemorySlot> { new(0, 0, _memory, 0, _layout.LowRamSize) };
        for (ulong done = 0; done < _layout.HighRamSize; done += MaxSlotSize)
            slots.Add(new MemorySlot(slots.Count, MachineLayout.HighRamStart + done, _memory, MachineLayout.HighRamStart + done, Math.Min(MaxSlotSize, _layout.HighRamSize - done)));
        foreach (var slot in slots) _partition.MapMemory(slot);
        _ram = new GuestRam(slots, _partition.NotifyDeviceWrite);
        _bootSlots = slots.Count;
    }

    private int _bootSlots;
    private HyperSharp.Machine.Virtio.Balloon.VirtioBalloonDevice? _balloon;
    private HyperSharp.Machine.Virtio.Mem.VirtioMemDevice? _hotAdd;
    private int _balloonSlot, _hotAddSlot;

    /// <summary>
    /// The balloon and the hot-add device, each in a PCI slot of its own (its recorded one on restore), their states
    /// registered after their transports' so a restore re-activates the queues before the device state lands. The
    /// hot-add region's memory slot comes after the boot slots, and is mapped only when memory is first asked for.
    /// </summary>
    private void AttachRuntimeMemory()
    {
        if (config.RuntimeMemory is not { } m) return;
        if (m.Balloon)
        {
            _balloon = new HyperSharp.Machine.Virtio.Balloon.VirtioBalloonDevice("balloon0", _ram, m.DeflateOnOutOfMemory, m.FreePageReporting, config.Log);
            _balloonSlot = _slots.Plug(_balloon, owner: null, label: null, slot: m.BalloonSlot, hot: false, removable: false);
            _devices.Add("balloon", _balloon.SaveState, _balloon.RestoreState, optional: true);
        }
        if (_layout.HotAddSize > 0)
        {
            var region = new HotAddRegion(_partition, _ram, _memory, _layout.HotAddStart, _layout.HotAddSize, _bootSlots);
            _hotAdd = new HyperSharp.Machine.Virtio.Mem.VirtioMemDevice("mem0", _ram, region, config.Log);
            _hotAddSlot = _slots.Plug(_hotAdd, owner: null, label: null, slot: m.HotAddSlot, hot: false, removable: false);
            _devices.Add("hot-add-memory", _hotAdd.SaveState, _hotAdd.RestoreState, optional: true);
        }
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
        var platform = Platform();
        var sci = new SharedInterruptLine(new PartitionInterruptLine(_partition, platform.SciIrq)); // PM1 events and GPEs share the SCI
        _pm = new AcpiPm(sci.NewInput(), () => _vm?.PowerOff(), () => _vm?.Reset());
        _ports.Add(platform.PmBase, AcpiPm.Length, _pm);
        _devices.Add("acpi-pm", _pm.SaveState, _pm.RestoreState);
        _gpe = new GpeBlock(sci.NewInput());
        _ports.Add(platform.GpeBase, GpeBlock.Length, _gpe);
        _devices.Add("gpe0", _gpe.SaveState, _gpe.RestoreState, optional: true);
    }

    private void AttachPci()
    {
        _pci = new PciRoot(_mmio, _ports);
        _ports.Add(0xCF8, 8, _pci.ConfigPorts);
        _mmio.Add(MachineLayout.EcamBase, MachineLayout.EcamSize, _pci.Ecam);
        var topology = new PciHotplugTopology(config.PciBridges);
        _slots = new PciSlots(_pci, _devices, _gpe, topology, VirtioTransport, MachineLayout.LowRamLimit, config.Log);
        var platform = Platform();
        _ports.Add(platform.HotplugBase, (ulong)topology.RegisterLength, _slots.Controller);
        _mmio.Add(platform.SlotLabelBase, (ulong)topology.LabelWindowLength, _slots.Controller.LabelWindow);
        _devices.Add("pci-hotplug", _slots.Controller.SaveState, _slots.Controller.RestoreState, optional: true);
    }

    /// <summary>A virtio device's PCI transport: MSI-X through the partition, INTx on the GSI its slot's INTA is routed to.</summary>
    private VirtioPciDevice VirtioTransport(uint gsi, HyperSharp.Machine.Virtio.IVirtioDevice device, int? msixVectors) =>
        new(device, _ram, new PartitionMsiSink(_partition), new PartitionInterruptLine(_partition, gsi), config.Log,
            _partition.RegisterDoorbell, msixVectors);

    /// <summary>
    /// Disks and the entropy device. Those with a recorded slot (a restored VM, where hot-plug and removal may have left
    /// any pattern) go first, so the ones placed in the first free slot cannot take theirs.
    /// </summary>
    private void AttachDevices()
    {
        _disks = new VmDisks(_slots, _ram, queueCount: Math.Min(config.Processors, 4)) { OpenWritableLater = _openWritableLater };
        _owned.Add(_disks);
        _owned.Add(_slots); // after the disks, so disposed before them (the VM disposes in reverse): queue threads stop before the images close
        foreach (var disk in config.Disks.Where(d => d.Slot is not null)) _disks.Attach(disk, hot: false);
        if (config.EntropySlot is not null) AttachEntropy();
        foreach (var disk in config.Disks.Where(d => d.Slot is null)) _disks.Attach(disk, hot: false);
        if (config.EntropySlot is null) AttachEntropy();
    }

    /// <summary>
    /// SCSI controllers, each in a PCI slot (its recorded one on restore) with a request queue per vCPU (up to 16), with
    /// their disks at their locations; controller n is the n-th of the configuration.
    /// </summary>
    private void AttachScsiControllers()
    {
        if (config.ScsiControllers.Count > ScsiControllers.MaxControllers)
            throw new ArgumentOutOfRangeException(nameof(config), $"{config.ScsiControllers.Count} SCSI controllers: a VM has at most {ScsiControllers.MaxControllers}");
        _scsi = new ScsiControllers(_slots, _devices, _ram, config.Processors) { OpenWritableLater = _openWritableLater };
        _allDisks = new AttachedDisks(_disks, _scsi);
        _owned.Insert(_owned.IndexOf(_slots), _scsi); // disposed after the slots (reverse order): queue threads stop before the images close
        foreach (var controller in config.ScsiControllers) _scsi.Add(controller);
    }

    private void AttachEntropy() =>
        _entropySlot = _slots.Plug(new HyperSharp.Machine.Virtio.Rng.VirtioRngDevice("rng0", _ram), owner: null, label: null, config.EntropySlot, hot: false, removable: false);

    private readonly List<VirtioNetDevice> _adapters = [];

    private int AdapterQueuePairs => Math.Min(config.Processors, 4);

    /// <summary>
    /// Each adapter is virtio-net with a queue pair per vCPU (up to 4) in a slot of its own, labelled with its
    /// <see cref="NetworkAdapterAttachment.Label"/> when it has one (the guest reads it as the PCI firmware label: device
    /// naming), and plugged into its switch port when the host gave one.
    /// </summary>
    private void AttachNetworkAdapters()
    {
        if (config.NetworkAdapters.Count > VmHotplug.MaxNetworkAdapters)
            throw new ArgumentOutOfRangeException(nameof(config), $"{config.NetworkAdapters.Count} network adapters: a VM has at most {VmHotplug.MaxNetworkAdapters}");
        foreach (var nic in config.NetworkAdapters)
        {
            var device = new VirtioNetDevice(nic.Name, nic.Mac, _ram, AdapterQueuePairs);
            _owned.Insert(_owned.IndexOf(_slots), device); // disposed after the slots (reverse order): queue threads stop first
            _adapters.Add(device);
            _slots.Plug(device, owner: null, label: nic.Label, slot: nic.Slot, hot: false);
            _devices.Add(VmHotplug.NetworkAdapterStateId(nic.Name), device.SaveState, device.RestoreState); // after its transport, whose restore re-activates the queues
            if (nic.Connect is { } connect) device.Connect(connect());
        }
    }

    private HyperSharp.Machine.Virtio.Vsock.VirtioVsockDevice? _vsock;
    private int _vsockSlot;

    /// <summary>
    /// The integration-services channel: virtio-vsock with its host Unix socket. Its state is registered after its
    /// transport's, so on a restore the queues are back at their saved positions before it tells the guest of the reset.
    /// </summary>
    private void AttachVsock()
    {
        if (config.Vsock is not { } v) return;
        var device = new HyperSharp.Machine.Virtio.Vsock.VirtioVsockDevice("vsock0", _ram, v.SocketPath, v.GuestCid, config.Log);
        _owned.Insert(_owned.IndexOf(_slots), device); // disposed after the slots (reverse order): queue threads stop first
        _vsockSlot = _slots.Plug(device, owner: null, label: null, slot: v.Slot, hot: false, removable: false);
        _devices.Add("vsock", device.SaveState, device.RestoreState);
        _vsock = device;
    }

    /// <summary>
    /// The platform's addresses. A firmware VM's PCI slot-label window moves out of 0xFEBxxxxx, where SeaBIOS places
    /// the 32-bit BARs it assigns (downwards from the I/O APIC) on a host bridge it does not know.
    /// </summary>
    private PlatformLayout Platform()
    {
        var platform = _layout.Platform(config.Processors, config.PciBridges);
        return config.Firmware is null ? platform : platform with { SlotLabelBase = Firmware.FirmwareDevices.SlotLabelBase };
    }

    /// <summary>The firmware image, its fw_cfg interface and, on a fresh start, its copy below 1 MiB (see <see cref="Firmware.FirmwareDevices"/>).</summary>
    private void AttachFirmware(Firmware.VmFirmware firmware) =>
        Firmware.FirmwareDevices.Attach(firmware, _layout, Platform(), _ram, _ports, _mmio, _devices, loadImage: !_restoring);

    private void AttachAcpi()
    {
        _acpi = AcpiTables.Build(Platform(), MachineLayout.AcpiTablesAddress);
        _ram.Write(_acpi.Address, _acpi.Data);
    }

    private void LoadKernel()
    {
        var kernel = KernelImage.Read(config.KernelPath);
        byte[]? initrd = config.InitrdPath is null ? null : File.ReadAllBytes(config.InitrdPath);
        _boot = LinuxBootPlanner.Plan(kernel, initrd, PlatformCommandLine.For(config.CommandLine, hotAddMemory: _layout.HotAddSize > 0), _layout.MemoryMap((ulong)_acpi.Data.Length), _acpi.RsdpAddress);
        foreach (var blob in _boot.Blobs) _ram.Write(blob.Address, blob.Data);
    }

    private void ApplySavedState(SavedStateFile file, List<IVirtualProcessor> processors)
    {
        var state = file.State;
        if (state.Processors.Length != processors.Count)
            throw file.Refuse(null, $"{state.Processors.Length} processor records for the configuration's {processors.Count} processors (damaged)");
        if (_filledMemory is null) file.ReadMemory(_memory);
        file.Apply(() =>
        {
            _partition.RestorePlatformState(state.Platform);
            for (int i = 0; i < processors.Count; i++)
                processors[i].SetState(VirtualProcessorStateSerializer.Restore(state.Processors[i], VmSavedState.ProcessorRecordName(i)));
            _devices.RestoreAll(state.DevicesById());
        });
        _pci.RefreshMappings();
    }

    private List<IVirtualProcessor> CreateProcessors()
    {
        var processors = new List<IVirtualProcessor>();
        for (int i = 0; i < config.Processors; i++)
        {
            var vp = _partition.CreateProcessor(i);
            processors.Add(vp);
            // The boot processor starts at the kernel's 64-bit entry, or at the firmware's reset vector; the others wait for INIT/SIPI.
            if (i == 0 && !_restoring) vp.SetState(config.Firmware is null ? EntryState.For(_boot.Entry) : Firmware.ResetVectorState.Create());
        }
        return processors;
    }
}
