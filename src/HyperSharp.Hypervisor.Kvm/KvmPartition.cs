using HyperSharp.Hypervisor.Kvm.Interop;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>One KVM VM: memory slots, in-kernel irqchip and PIT, interrupt lines, irqfd/ioeventfd, and its vCPUs.</summary>
internal sealed unsafe class KvmPartition : IPartition, IDirtyPageTracking
{
    private const long TssAddress = 0xFFFB_D000; // 3 pages below the BIOS, where every PC VMM puts it (Intel real-mode support)

    private readonly KvmHypervisor _hypervisor;
    private readonly PartitionOptions _options;
    private readonly Dictionary<int, MemorySlot> _slots = [];
    private readonly List<KvmVirtualProcessor> _processors = [];
    private readonly List<IDisposable> _attachments = [];
    private readonly KvmPlatformState? _initialPlatform;
    private readonly object _lock = new();
    private readonly KvmGsiRouting? _routing;
    private int _vmFd;

    /// <summary>The processors present VMX/SVM (the partition was allowed nesting when it was created).</summary>
    internal bool ExposesVirtualizationExtensions => _options.ExposeVirtualizationExtensions;

    public KvmPartition(KvmHypervisor hypervisor, PartitionOptions options)
    {
        _hypervisor = hypervisor;
        _options = options;
        var system = hypervisor.System;
        int max = system.MaxVcpus;
        if (options.ProcessorCount < 1 || options.ProcessorCount > max)
            throw new HypervisorException($"{options.ProcessorCount} virtual processors requested; this host's KVM allows 1 to {max} per VM (KVM_CAP_MAX_VCPUS).");
        if (options.IntervalTimer && !options.InterruptControllers)
            throw new HypervisorException("The interval timer needs the interrupt controllers; enable InterruptControllers or disable IntervalTimer.");
        if (options.ExposeVirtualizationExtensions && KvmNesting.Check() is { IsAvailable: false } nesting)
            throw new HypervisorException($"ExposeVirtualizationExtensions: {nesting.Reason} (or turn it off: Set-VMProcessor -ExposeVirtualizationExtensions $false)");
        // Guest code runs on the host processor, undefined results included: KVM can present no other vendor.
        if (options.Vendor is ProcessorVendor wanted && hypervisor.VendorString is var host && ProcessorVendors.FromVendorString(host) != wanted)
            throw new HypervisorException($"The Kvm backend presents the host's processor ({host}); to present {wanted.VendorString()}, use the Emulated backend.");

        _vmFd = KvmCall.Ioctl(system.Fd, KvmIoctl.CreateVm, 0, "KVM_CREATE_VM");
        try
        {
            if (system.Capability(KvmIoctl.CapSetTssAddr) > 0)
                KvmCall.Ioctl(_vmFd, KvmIoctl.SetTssAddr, unchecked((nint)TssAddress), "KVM_SET_TSS_ADDR");
            if (options.InterruptControllers)
                KvmCall.Ioctl(_vmFd, KvmIoctl.CreateIrqchip, 0, "KVM_CREATE_IRQCHIP");
            if (options.IntervalTimer)
            {
                // Safe: a stack struct of the size the ioctl number encodes.
                var pit = new KvmPitConfig { Flags = KvmIoctl.PitSpeakerDummy };
                KvmCall.Ioctl(_vmFd, KvmIoctl.CreatePit2, &pit, "KVM_CREATE_PIT2");
            }
            if (options.InterruptControllers)
            {
                _initialPlatform = KvmPlatformState.Capture(_vmFd, options.IntervalTimer);
                _routing = new KvmGsiRouting(_vmFd, system.Capability(KvmIoctl.CapIrqRouting));
            }
        }
        catch
        {
            Libc.Close(_vmFd);
            throw;
        }
    }

    internal int VmFd => _vmFd >= 0 ? _vmFd : throw new ObjectDisposedException(nameof(KvmPartition));

    public void MapMemory(MemorySlot slot)
    {
        slot.Validate();
        lock (_lock)
        {
            if (_slots.ContainsKey(slot.Id))
                throw new HypervisorException($"Memory slot {slot.Id} is already mapped; unmap it first.");
            foreach (var other in _slots.Values)
                if (slot.GuestAddress < other.GuestAddress + other.Size && other.GuestAddress < slot.GuestAddress + slot.Size)
                    throw new HypervisorException($"Memory slot {slot.Id} at 0x{slot.GuestAddress:X} (0x{slot.Size:X} bytes) overlaps slot {other.Id} at 0x{other.GuestAddress:X}.");
            if ((slot.Flags & MemorySlotFlags.ReadOnly) != 0 && _hypervisor.System.Capability(KvmIoctl.CapReadonlyMem) <= 0)
                throw new HypervisorException("This host's KVM cannot map read-only memory (no KVM_CAP_READONLY_MEM).");

            // The guard runs before anything reaches the kernel: an unaffordable slot must never be registered.
            KvmMemoryGuard.Check(slot.Id, slot.Size);

            Register(slot, _tracking);
            _slots.Add(slot.Id, slot);
            if (_tracking && (slot.Flags & MemorySlotFlags.ReadOnly) == 0) _deviceDirty[slot.Id] = new ulong[(slot.PageCount + 63) / 64];
        }
    }

    public void UnmapMemory(int slotId)
    {
        lock (_lock)
        {
            if (!_slots.Remove(slotId, out var slot))
                throw new HypervisorException($"Memory slot {slotId} is not mapped.");
            _deviceDirty.Remove(slotId);
            var region = new KvmUserspaceMemoryRegion { Slot = (uint)slotId, GuestPhysAddr = slot.GuestAddress };
            // Safe: size 0 deletes the slot; no host memory is referenced.
            KvmCall.Ioctl(VmFd, KvmIoctl.SetUserMemoryRegion, &region, $"KVM_SET_USER_MEMORY_REGION (delete slot {slotId})");
        }
    }

    /// <summary>Registers (or re-registers with new flags: KVM_MR_FLAGS_ONLY) a slot with the kernel. Caller holds the lock.</summary>
    private void Register(MemorySlot slot, bool logDirty)
    {
        var region = new KvmUserspaceMemoryRegion
        {
            Slot = (uint)slot.Id,
            Flags = ((slot.Flags & MemorySlotFlags.ReadOnly) != 0 ? KvmIoctl.MemReadonly : 0)
                  | ((logDirty && (slot.Flags & MemorySlotFlags.ReadOnly) == 0) || (slot.Flags & MemorySlotFlags.TrackDirtyPages) != 0 ? KvmIoctl.MemLogDirtyPages : 0),
            GuestPhysAddr = slot.GuestAddress,
            MemorySize = slot.Size,
            UserspaceAddr = (ulong)(slot.Memory.HostAddress + (nint)slot.MemoryOffset),
        };
        // Safe: Validate proved the host range lies inside the GuestMemory mapping, which outlives the partition.
        KvmCall.Ioctl(VmFd, KvmIoctl.SetUserMemoryRegion, &region, $"KVM_SET_USER_MEMORY_REGION (slot {slot.Id})");
    }

    // KVM logs what the processors write; what our devices write through their spans (DMA) it never sees, so while
    // tracking those pages are kept here, one bitmap per slot, and merged into the kernel's log when it is read.
    private volatile bool _tracking;
    private readonly Dictionary<int, ulong[]> _deviceDirty = [];

    public void StartDirtyPageTracking()
    {
        lock (_lock)
        {
            if (_tracking) return;
            foreach (var slot in _slots.Values)
            {
                if ((slot.Flags & MemorySlotFlags.ReadOnly) != 0) continue;
                _deviceDirty[slot.Id] = new ulong[(slot.PageCount + 63) / 64];
                Register(slot, logDirty: true);
            }
            _tracking = true;
        }
    }

    public void StopDirtyPageTracking()
    {
        lock (_lock)
        {
            if (!_tracking) return;
            _tracking = false;
            foreach (var slot in _slots.Values)
                if ((slot.Flags & MemorySlotFlags.ReadOnly) == 0) Register(slot, logDirty: false);
            _deviceDirty.Clear();
        }
    }

    public ulong[] GetAndClearDirtyPages(int slotId)
    {
        MemorySlot slot;
        ulong[]? devices;
        lock (_lock)
        {
            if (!_slots.TryGetValue(slotId, out slot!))
                throw new HypervisorException($"Memory slot {slotId} is not mapped.");
            _deviceDirty.TryGetValue(slotId, out devices);
        }
        if ((slot.Flags & MemorySlotFlags.TrackDirtyPages) == 0 && devices is null)
            throw new HypervisorException($"Memory slot {slotId} was mapped without TrackDirtyPages and dirty-page tracking is not started.");
        var bitmap = new ulong[(slot.PageCount + 63) / 64];
        fixed (ulong* p = bitmap)
        {
            var log = new KvmDirtyLog { Slot = (uint)slotId, DirtyBitmap = (nint)p };
            // Safe: KVM writes one bit per page of the slot, rounded up to 64-bit words: exactly bitmap's size.
            KvmCall.Ioctl(VmFd, KvmIoctl.GetDirtyLog, &log, $"KVM_GET_DIRTY_LOG (slot {slotId})");
        }
        if (devices is not null)
            for (int w = 0; w < bitmap.Length; w++) bitmap[w] |= Interlocked.Exchange(ref devices[w], 0);
        return bitmap;
    }

    public void SetInterruptLine(uint gsi, bool asserted)
    {
        RequireIrqchip();
        var level = new KvmIrqLevel { Irq = gsi, Level = asserted ? 1u : 0u };
        // Safe: stack struct of the encoded size.
        KvmCall.Ioctl(VmFd, KvmIoctl.IrqLine, &level, $"KVM_IRQ_LINE (GSI {gsi})");
    }

    public void SignalMsi(ulong address, uint data)
    {
        RequireIrqchip();
        var msi = new KvmMsi { AddressLo = (uint)address, AddressHi = (uint)(address >> 32), Data = data };
        // Safe: stack struct of the encoded size. Returns 0 when the guest has the interrupt masked, which is not an error.
        KvmCall.Ioctl(VmFd, KvmIoctl.SignalMsi, &msi, "KVM_SIGNAL_MSI");
    }

    public IInterruptTrigger CreateInterruptTrigger(uint gsi)
    {
        RequireIrqchip();
        if (gsi >= 24)
            throw new HypervisorException($"GSI {gsi} is not a platform interrupt line (0-23); use CreateMsiTrigger for message-signalled interrupts.");
        var trigger = new KvmInterruptTrigger(this, gsi);
        lock (_lock) _attachments.Add(trigger);
        return trigger;
    }

    public IInterruptTrigger CreateMsiTrigger(ulong address, uint data)
    {
        RequireIrqchip();
        uint gsi = _routing!.AddMsi(address, data);
        KvmInterruptTrigger trigger;
        try
        {
            trigger = new KvmInterruptTrigger(this, gsi, () => _routing.Remove(gsi));
        }
        catch
        {
            _routing.Remove(gsi);
            throw;
        }
        lock (_lock) _attachments.Add(trigger);
        return trigger;
    }

    public IDisposable RegisterDoorbell(Doorbell doorbell, GuestEvent target)
    {
        doorbell.Validate();
        var registration = new KvmDoorbellRegistration(this, doorbell, target);
        lock (_lock) _attachments.Add(registration);
        return registration;
    }

    internal void Detach(IDisposable attachment)
    {
        lock (_lock) _attachments.Remove(attachment);
    }

    public IVirtualProcessor CreateProcessor(int id)
    {
        lock (_lock)
        {
            if (_processors.Count >= _options.ProcessorCount)
                throw new HypervisorException($"This partition was created for {_options.ProcessorCount} virtual processors; raise PartitionOptions.ProcessorCount.");
            if (_processors.Exists(p => p.Id == id))
                throw new HypervisorException($"Virtual processor {id} already exists.");
            var vp = new KvmVirtualProcessor(this, _hypervisor, id, _options.InterruptControllers);
            _processors.Add(vp);
            return vp;
        }
    }

    internal void Forget(KvmVirtualProcessor vp)
    {
        lock (_lock) _processors.Remove(vp);
    }

    public void Reset()
    {
        lock (_lock)
        {
            _initialPlatform?.Restore(VmFd);
            foreach (var vp in _processors)
                vp.ResetToPowerOn();
        }
    }

    /// <summary>KVM runs guest code natively and needs no notice; dirty tracking of device writes is the VMM's (KVM's log sees only the guest's own writes).</summary>
    public void NotifyDeviceWrite(ulong guestAddress, ulong length)
    {
        if (!_tracking || length == 0) return;
        lock (_lock)
            foreach (var slot in _slots.Values)
            {
                if (!_deviceDirty.TryGetValue(slot.Id, out var bits)) continue;
                if (guestAddress + length <= slot.GuestAddress || guestAddress >= slot.GuestAddress + slot.Size) continue;
                ulong first = (Math.Max(guestAddress, slot.GuestAddress) - slot.GuestAddress) / MemorySlot.PageSize;
                ulong last = (Math.Min(guestAddress + length, slot.GuestAddress + slot.Size) - 1 - slot.GuestAddress) / MemorySlot.PageSize;
                for (ulong page = first; page <= last; page++) Interlocked.Or(ref bits[page >> 6], 1UL << (int)(page & 63));
            }
    }

    public State.SavedRecord SavePlatformState()
    {
        lock (_lock)
            return _options.InterruptControllers ? KvmPlatformState.Capture(VmFd, _options.IntervalTimer).ToRecord() : new State.SavedRecord(1, []);
    }

    public void RestorePlatformState(State.SavedRecord state)
    {
        if (state.Data.Length == 0) return;
        RequireIrqchip();
        var platform = KvmPlatformState.FromRecord(state);
        lock (_lock) platform.Restore(VmFd);
    }

    private void RequireIrqchip()
    {
        if (!_options.InterruptControllers)
            throw new HypervisorException("This partition has no interrupt controllers (PartitionOptions.InterruptControllers is false).");
    }

    public void Dispose()
    {
        List<IDisposable> attachments;
        List<KvmVirtualProcessor> processors;
        lock (_lock)
        {
            if (_vmFd < 0) return;
            attachments = [.. _attachments];
            processors = [.. _processors];
        }
        foreach (var a in attachments) a.Dispose();
        foreach (var vp in processors) vp.Dispose();
        lock (_lock)
        {
            Libc.Close(_vmFd); // closing the VM fd releases its slots and irqchip; GuestMemory stays the caller's
            _vmFd = -1;
            _slots.Clear();
        }
    }
}
