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
using HyperSharp.Machine.Virtio.Block;
using HyperSharp.Machine.Virtio.Pci;
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
            AttachAcpi();
            LoadKernel();
            var processors = CreateProcessors();
            _vm = new VirtualMachine(_partition, _memory, processors, _ports, _mmio, _console, _pm, _owned, config.Log);
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
        _memory = GuestMemory.Allocate(_layout.RamSize);
        var slots = new List<MemorySlot> { new(0, 0, _memory, 0, _layout.LowRamSize) };
        for (ulong done = 0; done < _layout.HighRamSize; done += MaxSlotSize)
            slots.Add(new MemorySlot(slots.Count, MachineLayout.HighRamStart + done, _memory, _layout.LowRamSize + done, Math.Min(MaxSlotSize, _layout.HighRamSize - done)));
        foreach (var slot in slots) _partition.MapMemory(slot);
        _ram = new GuestRam(slots);
    }

    private void AttachChipset()
    {
        var errors = new DeviceErrorLog(config.Log);
        _ports = new IoBus<IPortIoDevice>("port bus", errors);
        _mmio = new IoBus<IMmioDevice>("MMIO bus", errors);
        _console = new Serial16550("com1", new PartitionInterruptLine(_partition, 4), config.ConsoleOutput);
        _ports.Add(0x3F8, 8, _console);
        _ports.Add(0x70, 2, new CmosRtc());
        var kbc = new I8042Controller(() => _vm?.Reset());
        _ports.Add(0x60, 1, kbc);
        _ports.Add(0x64, 1, kbc);
        var platform = _layout.Platform(config.Processors);
        _pm = new AcpiPm(new PartitionInterruptLine(_partition, platform.SciIrq), () => _vm?.PowerOff(), () => _vm?.Reset());
        _ports.Add(platform.PmBase, AcpiPm.Length, _pm);
    }

    private void AttachPci()
    {
        _pci = new PciRoot(_mmio, _ports);
        _ports.Add(0xCF8, 8, _pci.ConfigPorts);
        _mmio.Add(MachineLayout.EcamBase, MachineLayout.EcamSize, _pci.Ecam);
    }

    private ulong _nextBar = MachineLayout.LowRamLimit;

    private void AttachDisks()
    {
        var msi = new PartitionMsiSink(_partition);
        foreach (var (attachment, index) in config.Disks.Select((d, i) => (d, i)))
        {
            var disk = VirtualDisk.Open(attachment.Path, new DiskOpenOptions { ReadOnly = attachment.ReadOnly });
            _owned.Add(disk);
            var device = new VirtioBlockDevice($"vd{(char)('a' + index)}", disk, _ram, queueCount: Math.Min(config.Processors, 4));
            _owned.Add(device);
            int slot = _pci.FreeSlot();
            var pci = new VirtioPciDevice(device, _ram, msi, new PartitionInterruptLine(_partition, Dsdt.GsiFor(slot, 0)), config.Log);
            AssignBars(pci);
            _pci.Add(slot, pci);
        }
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

    private List<IVirtualProcessor> CreateProcessors()
    {
        var processors = new List<IVirtualProcessor>();
        for (int i = 0; i < config.Processors; i++)
        {
            var vp = _partition.CreateProcessor(i);
            processors.Add(vp);
            // The boot processor starts at the kernel's 64-bit entry; the others wait for INIT/SIPI.
            if (i == 0) vp.SetState(EntryState.For(_boot.Entry));
        }
        return processors;
    }
}
