using HyperSharp.Hypervisor;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Devices.Pm;
using HyperSharp.Machine.Devices.Serial;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.State;

namespace HyperSharp.Machine;

/// <summary>
/// One running virtual machine: its partition, memory, buses and devices, and a thread per vCPU
/// that runs guest code (its port and MMIO accesses reach the buses on that thread) and acts on lifecycle exits. Assembled by
/// <see cref="VirtualMachineBuilder"/>; <see cref="Run"/> returns when the guest powers off, resets,
/// crashes, or the host stops it.
/// </summary>
public sealed class VirtualMachine : IDisposable
{
    private readonly List<IDisposable> _owned;
    private readonly IReadOnlyList<IVirtualProcessor> _processors;
    private readonly Action<string> _log;
    private readonly BusDispatcher _buses;
    private VmStopped? _stopped;
    private readonly object _stopLock = new();
    private readonly VmDisks _disks;
    private readonly int _entropySlot;

    internal VirtualMachine(IPartition partition, GuestMemory memory, IReadOnlyList<IVirtualProcessor> processors, IoBus<IPortIoDevice> ports,
        IoBus<IMmioDevice> mmio, Serial16550 console, AcpiPm pm, List<IDisposable> owned, Action<string> log, DeviceStateRegistry devices,
        VmDisks disks, int entropySlot)
    {
        _disks = disks;
        _entropySlot = entropySlot;
        Devices = devices;
        Partition = partition;
        Memory = memory;
        _processors = processors;
        Ports = ports;
        Mmio = mmio;
        _buses = new BusDispatcher(ports, mmio, () => _stopped is not null || _pauseRequested);
        Console = console;
        Pm = pm;
        _owned = owned;
        _log = log;
    }

    public IPartition Partition { get; }

    /// <summary>Where the machine's own messages go (the configuration's log).</summary>
    internal Action<string> Log => _log;

    /// <summary>
    /// The buses as the backends call them for the guest's port I/O and MMIO, on the vCPU's thread; under host resource
    /// protection each access is charged first (and may wait there).
    /// </summary>
    private sealed class BusDispatcher(IoBus<IPortIoDevice> ports, IoBus<IMmioDevice> mmio, Func<bool> stopping) : IIoDispatcher
    {
        public volatile HostResourceProtection? Guard;

        public void PortRead(ushort port, Span<byte> data) { Guard?.Charge(stopping); ports.Read(port, data); }
        public void PortWrite(ushort port, ReadOnlySpan<byte> data) { Guard?.Charge(stopping); ports.Write(port, data); }
        public void MmioRead(ulong address, Span<byte> data) { Guard?.Charge(stopping); mmio.Read(address, data); }
        public void MmioWrite(ulong address, ReadOnlySpan<byte> data) { Guard?.Charge(stopping); mmio.Write(address, data); }
    }

    /// <summary>Host resource protection for this machine's device accesses (Set-VMProcessor -EnableHostResourceProtection); null for none.</summary>
    public HostResourceProtection? ResourceProtection { get => _buses.Guard; set => _buses.Guard = value; }

    /// <summary>The attached disks: virtio-blk in --disk order then hot-add order, then the SCSI LUNs (Resize-VHD on a running VM goes through these).</summary>
    public IReadOnlyList<HyperSharp.Vhdx.IVirtualDisk> Disks => AllDisks.All;

    /// <summary>
    /// The open image of the attached disk whose file is <paramref name="path"/> (the image itself, not the holder a
    /// checkpoint switches), to describe or resize while the VM runs: a resize is announced to the guest by the disk's
    /// device. Null when no disk has that image.
    /// </summary>
    public HyperSharp.Vhdx.IVirtualDisk? AttachedImage(string path) => AllDisks.Find(path)?.Inner;

    /// <summary>The drive names the disks carry, on either bus (what <see cref="SetDiskQos"/> takes).</summary>
    public IReadOnlyList<string> DiskLabels => AllDisks.Labels;

    /// <summary>
    /// Storage QoS of the disk (virtio-blk slot or SCSI LUN) that carries <paramref name="label"/> (the drive's name), in normalized
    /// IOPS, 0 for no limit; what waited under the old limits is served again. False when no disk carries the label.
    /// </summary>
    public bool SetDiskQos(string label, long maximumIops, long minimumIops, Action<long, TimeSpan>? belowMinimum = null) =>
        AllDisks.SetQos(label, maximumIops, minimumIops, belowMinimum);

    /// <summary>The virtio-blk disks as attached now: path, read-only, PCI slot and current label (what a saved configuration records); the SCSI ones are <see cref="Scsi"/>'s.</summary>
    public IReadOnlyList<DiskAttachment> DiskAttachments => _disks.Attachments();

    /// <summary>
    /// A checkpoint's disk switch (pause first): each written disk whose image <paramref name="children"/> names goes on in a
    /// new differencing child at that path, so the image keeps the disk as it is now; all or none.
    /// </summary>
    public void SwitchDisksToChildren(IReadOnlyDictionary<string, string> children)
    {
        if (!IsPaused) throw new InvalidOperationException("pause the VM before switching its disks");
        AllDisks.SwitchToChildren(children);
    }

    /// <summary>Devices, disks and adapters added and removed while the VM runs, and the PCI slots' labels.</summary>
    public VmHotplug Hotplug { get; internal init; } = null!;

    /// <summary>Guest RAM as devices reach it.</summary>
    internal GuestRam Ram { get; init; } = null!;

    /// <summary>The SCSI controllers and their disks: attach and detach disks while the VM runs, reach an attached image.</summary>
    public ScsiControllers Scsi { get; init; } = null!;

    /// <summary>The disks on both buses, for checkpoints, Storage QoS and a live migration's handover of the writable ones.</summary>
    internal AttachedDisks AllDisks { get; init; } = null!;

    /// <summary>The writable disks a migration closed for a destination whose handover is in doubt; <see cref="Resume"/> opens them again.</summary>
    internal IReadOnlyList<SwitchableDisk>? HandedOverDisks { get; set; }

    /// <summary>The integration-services channel (virtio-vsock), when the configuration has one.</summary>
    public Virtio.Vsock.VirtioVsockDevice? Vsock { get; internal init; }

    internal int VsockSlot { get; init; }

    /// <summary>The network adapters, in configuration order (connect, disconnect, counters).</summary>
    /// <summary>The memory balloon (null unless the configuration asked for it): set its target, read the guest's statistics.</summary>
    public Virtio.Balloon.VirtioBalloonDevice? Balloon { get; internal init; }
    internal int BalloonSlot { get; init; }

    /// <summary>Hot-add memory (null unless the configuration's maximum exceeds the boot size): ask the guest to plug or unplug.</summary>
    public Virtio.Mem.VirtioMemDevice? HotAdd { get; internal init; }
    internal int HotAddSlot { get; init; }

    /// <summary>The RAM the machine booted with (the configuration's memory size); hot-add and the balloon move from here.</summary>
    public ulong BootMemoryBytes { get; internal init; }

    public IReadOnlyList<Virtio.Net.VirtioNetDevice> NetworkAdapters { get; internal set; } = [];
    internal DeviceStateRegistry Devices { get; }
    public GuestMemory Memory { get; }
    public IoBus<IPortIoDevice> Ports { get; }
    public IoBus<IMmioDevice> Mmio { get; }
    public Serial16550 Console { get; }
    internal AcpiPm Pm { get; }

    /// <summary>Guest RAM the guest has touched so far (resident in the host): Get-VM's MemoryAssigned for static memory.</summary>
    public ulong TouchedMemoryBytes()
    {
        ulong pages = 0;
        foreach (var _ in HyperSharp.Machine.Memory.ResidentPages.Of(Memory)) pages++;
        return pages * 4096;
    }

    /// <summary>Runs every vCPU on its own thread until the machine stops; returns why.</summary>
    public VmStopped Run()
    {
        var threads = _processors.Select((vp, i) => new Thread(() => RunProcessor(vp)) { Name = $"vcpu{i}", IsBackground = true }).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        return _stopped ?? new VmStopped(VmStopReason.Stopped);
    }

    /// <summary>Presses the ACPI power button: a guest with ACPI shuts down cleanly.</summary>
    public void RequestShutdown() => Pm.PressPowerButton();

    /// <summary>Stops the machine at once (turn off).</summary>
    public void Stop(VmStopReason reason = VmStopReason.Stopped, string? detail = null)
    {
        lock (_stopLock)
        {
            _stopped ??= new VmStopped(reason, detail);
        }
        _resume.Set(); // parked vCPUs wake, see the stop, and leave
        foreach (var vp in _processors) vp.RequestStop();
    }

    internal void PowerOff() => Stop(VmStopReason.PowerOff);
    internal void Reset() => Stop(VmStopReason.Reset);

    private void RunProcessor(IVirtualProcessor vp)
    {
        try
        {
            while (_stopped is null)
            {
                var exit = vp.Run(_buses);
                switch (exit.Kind)
                {
                    case ExitKind.Halt:
                        Thread.Sleep(1); // only without in-backend interrupt controllers
                        break;
                    case ExitKind.Shutdown:
                        Stop(VmStopReason.TripleFault, $"vCPU {vp.Id} triple-faulted");
                        break;
                    case ExitKind.SystemEvent:
                        Stop(exit.SystemEvent switch { SystemEventKind.PowerOff => VmStopReason.PowerOff, SystemEventKind.Reset => VmStopReason.Reset, _ => VmStopReason.GuestCrash });
                        break;
                    case ExitKind.Cancelled:
                        ParkIfPaused();
                        break;
                    default:
                        Stop(VmStopReason.HostError, $"vCPU {vp.Id}: {exit.ToString()}");
                        break;
                }
            }
        }
        catch (Exception e)
        {
            _log($"vCPU {vp.Id} failed: {e}");
            Stop(VmStopReason.HostError, $"vCPU {vp.Id}: {e.Message}");
        }
    }

    private volatile bool _pauseRequested;
    private int _parked;
    private readonly ManualResetEventSlim _resume = new(true);

    /// <summary>Stops every vCPU at an instruction boundary and waits until all are parked (for saving state).</summary>
    public void Pause()
    {
        _resume.Reset();
        _pauseRequested = true;
        foreach (var vp in _processors) vp.RequestStop();
        var deadline = Environment.TickCount64 + 10_000;
        while (Volatile.Read(ref _parked) < _processors.Count && _stopped is null)
        {
            if (Environment.TickCount64 > deadline) throw new TimeoutException("the vCPUs did not pause within 10 s");
            Thread.Sleep(1);
        }
        Vsock?.Paused(); // host sockets may still talk; the device leaves guest memory alone until Resume
    }

    public void Resume()
    {
        // After a migration whose handover was in doubt the writable images are closed here: they open again first. The
        // lock is the fence — while a destination runs the VM on them this throws (after a wait) and the VM stays paused.
        if (HandedOverDisks is { } handedOver)
        {
            try { Migration.DiskHandover.Reclaim(handedOver, Migration.DiskHandover.ReclaimPatience); }
            catch (Migration.MigrationException e) { throw new InvalidOperationException(e.Message, e); }
            HandedOverDisks = null;
        }
        _pauseRequested = false;
        Vsock?.Resumed(); // serves what waited; after a save the guest hears that its connections were reset
        _resume.Set();
    }

    private void ParkIfPaused()
    {
        if (!_pauseRequested) return;
        Interlocked.Increment(ref _parked);
        _resume.Wait();
        Interlocked.Decrement(ref _parked);
    }

    /// <summary>Writes the whole VM — processors, platform, devices, touched memory — to a file. Pause first.</summary>
    public void Save(string path, SavedVmConfig config, string backend) => VmStateFile.Write(path, CaptureState(config, backend), Memory);

    /// <summary>Everything but memory — processors, platform, devices, the configuration as it is now — for a save or a migration. Pause first.</summary>
    internal VmSavedState CaptureState(SavedVmConfig config, string backend)
    {
        if (!IsPaused) throw new InvalidOperationException("pause the VM before saving it");
        // Devices first: saving one serves the doorbells it had already taken, and a request completed there raises its
        // interrupt into the interrupt controllers; captured before, the guest would wait forever for that completion.
        var devices = Devices.SaveAll();
        var processors = _processors.Select(vp => HyperSharp.Hypervisor.State.VirtualProcessorStateSerializer.Save(vp.GetState())).ToArray();
        return new VmSavedState(backend, CurrentConfig(config), Partition.SavePlatformState(), processors, devices);
    }

    /// <summary>
    /// The configuration with the devices as they are now (hot-added disks included, with their slots and labels), so a
    /// restore rebuilds this machine.
    /// </summary>
    internal SavedVmConfig CurrentConfig(SavedVmConfig config) => config with
    {
        Disks = _disks.Attachments(), EntropySlot = _entropySlot, ScsiControllers = Scsi.Attachments(),
        Vsock = config.Vsock is { } v ? v with { Slot = VsockSlot } : null,
        RuntimeMemory = config.RuntimeMemory is { } m
            ? m with { BalloonSlot = Balloon is null ? null : BalloonSlot, HotAddSlot = HotAdd is null ? null : HotAddSlot }
            : null,
    };

    /// <summary>True while every vCPU is parked by <see cref="Pause"/>.</summary>
    internal bool IsPaused => _pauseRequested && Volatile.Read(ref _parked) >= _processors.Count;

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var vp in _processors) vp.Dispose();
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        Partition.Dispose();
        Memory.Dispose();
    }
}
