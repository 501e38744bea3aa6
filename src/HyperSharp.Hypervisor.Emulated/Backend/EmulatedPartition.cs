using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Memory;
using HyperSharp.Hypervisor.Platform;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>
/// A partition on the Emulated backend: guest RAM as the processors' <see cref="PhysicalMemory"/>,
/// the software platform devices, doorbells checked on the device-access path, interrupt lines and
/// MSIs delivered through the APIC bus.
/// </summary>
internal sealed unsafe class EmulatedPartition : IPartition, IDirtyPageTracking
{
    private readonly PartitionOptions _options;
    private readonly List<EmulatedVirtualProcessor> _processors = [];
    private readonly GuestProfiler? _profiler = GuestProfiler.FromEnvironment();
    private readonly List<(Doorbell Bell, GuestEvent Target)> _doorbells = [];
    private readonly object _lock = new();

    public EmulatedPartition(PartitionOptions options)
    {
        if (options.ProcessorCount is < 1 or > 255) throw new HypervisorException($"{options.ProcessorCount} processors: the Emulated backend supports 1 to 255 (xAPIC IDs)");
        _options = options;
        Platform = new EmulatedPlatform(options);
    }

    internal EmulatedPlatform Platform { get; }

    /// <summary>The vendor every processor presents: the options' choice, GenuineIntel by default (what guests have always
    /// seen here, whatever the host: a VM behaves the same on every host).</summary>
    internal ProcessorVendor Vendor => _options.Vendor ?? ProcessorVendor.Intel;

    /// <summary>The TSC every processor counts (see <see cref="TimestampClock"/>).</summary>
    internal TimestampClock Clock { get; } = new();
    internal PhysicalMemory? Memory { get; private set; }

    private readonly List<MemorySlot> _slots = [];

    /// <summary>
    /// Slots must lie at their own offset in one guest-memory block (guest-physical = offset), so the
    /// processor addresses RAM as one range from 0; a single gap between slots (the PCI hole) is MMIO.
    /// Once processors exist, a slot may still be added above the RAM end (memory hot-add).
    /// </summary>
    public void MapMemory(MemorySlot slot)
    {
        slot.Validate();
        lock (_lock)
        {
            if (slot.MemoryOffset != slot.GuestAddress || (_slots.Count > 0 && _slots[0].Memory != slot.Memory))
                throw new HypervisorException($"Memory slot {slot.Id} at 0x{slot.GuestAddress:X}: the Emulated backend needs every slot in one guest-memory block at offset = guest address.");
            if (_slots.Any(s => slot.GuestAddress < s.GuestAddress + s.Size && s.GuestAddress < slot.GuestAddress + slot.Size))
                throw new HypervisorException($"Memory slot {slot.Id} at 0x{slot.GuestAddress:X} overlaps another slot.");
            if (Memory is { } running)
            {
                // Memory hot-add: the processors' view grows in place, inside the block reserved when it was built.
                if (slot.GuestAddress < running.RamEnd || slot.GuestAddress + slot.Size > running.Length)
                    throw new HypervisorException($"Memory slot {slot.Id} at 0x{slot.GuestAddress:X}: with processors running, the Emulated backend adds RAM only above its end (0x{running.RamEnd:X}) and within the guest-memory block (0x{running.Length:X}).");
                try { running.AddRam(slot.GuestAddress, slot.GuestAddress + slot.Size); }
                catch (ArgumentException e) { throw new HypervisorException($"Memory slot {slot.Id}: {e.Message}"); }
            }
            _slots.Add(slot);
        }
    }

    /// <summary>Builds the processors' view of RAM from the slots (once, when the first processor is created). Caller holds the lock.</summary>
    private PhysicalMemory BuildMemory()
    {
        if (_slots.Count == 0 || _slots.Min(s => s.GuestAddress) != 0) throw new HypervisorException("map guest memory at guest-physical 0 before creating processors");
        var ordered = _slots.OrderBy(s => s.GuestAddress).ToList();
        ulong end = ordered[^1].GuestAddress + ordered[^1].Size;
        // The whole block is the processors' address range, so slots mapped later (hot-add) fit without moving anything.
        var memory = new PhysicalMemory((byte*)ordered[0].Memory.HostAddress, ordered[0].Memory.Size, end);
        var gaps = ordered.Zip(ordered.Skip(1)).Where(p => p.First.GuestAddress + p.First.Size != p.Second.GuestAddress).ToList();
        if (gaps.Count > 1) throw new HypervisorException("the Emulated backend supports one hole between RAM slots");
        if (gaps.Count == 1) memory.SetHole(gaps[0].First.GuestAddress + gaps[0].First.Size, gaps[0].Second.GuestAddress);
        if (_tracking || AnySlotTracksAtMap) memory.EnableDirtyLogging();
        return memory;
    }

    public void UnmapMemory(int slotId) => throw new HypervisorException("the Emulated backend cannot unmap RAM while processors exist");

    // The dirty log lives in PhysicalMemory, one bitmap over all RAM: a slot's pages are cut out of it. What one call
    // collects for the other slots waits in _collected, so asking slot by slot loses nothing. Its own lock, not _lock:
    // collecting waits for every vCPU to pass an instruction boundary, and a vCPU may be waiting for _lock (doorbells).
    private readonly Lock _dirtyLock = new();
    private bool _tracking;
    private ulong[]? _collected, _scratch;

    private bool AnySlotTracksAtMap => _slots.Any(s => (s.Flags & MemorySlotFlags.TrackDirtyPages) != 0);

    public ulong[] GetAndClearDirtyPages(int slotId)
    {
        lock (_dirtyLock)
        {
            MemorySlot slot;
            lock (_lock) slot = _slots.FirstOrDefault(s => s.Id == slotId) ?? throw new HypervisorException($"Memory slot {slotId} is not mapped.");
            if (!_tracking && (slot.Flags & MemorySlotFlags.TrackDirtyPages) == 0)
                throw new HypervisorException($"Memory slot {slotId} was mapped without TrackDirtyPages and dirty-page tracking is not started.");
            var result = new ulong[(slot.PageCount + 63) / 64];
            if (Memory is not { } memory) return result; // no processor yet: nothing ran, nothing was written by a CPU
            _collected ??= new ulong[memory.BitmapWords];
            _scratch ??= new ulong[memory.BitmapWords];
            memory.CollectDirtyPages(_scratch);
            for (int w = 0; w < _scratch.Length; w++) _collected[w] |= _scratch[w];
            ulong first = slot.GuestAddress / MemorySlot.PageSize;
            for (ulong i = 0; i < slot.PageCount; i++)
            {
                ulong page = first + i;
                ulong bit = 1UL << (int)(page & 63);
                if ((_collected[page >> 6] & bit) == 0) continue;
                _collected[page >> 6] &= ~bit;
                result[i >> 6] |= 1UL << (int)(i & 63);
            }
            return result;
        }
    }

    public void StartDirtyPageTracking()
    {
        lock (_dirtyLock)
        {
            _tracking = true;
            _collected = null;
            Memory?.EnableDirtyLogging(); // before the first processor, BuildMemory turns it on
        }
    }

    public void StopDirtyPageTracking()
    {
        lock (_dirtyLock)
        {
            if (!_tracking) return;
            _tracking = false;
            _collected = null;
            bool keep;
            lock (_lock) keep = AnySlotTracksAtMap;
            if (!keep) Memory?.DisableDirtyLogging();
        }
    }

    public void SetInterruptLine(uint gsi, bool asserted) => Platform.SetIrq((int)gsi, asserted);

    public void SignalMsi(ulong address, uint data) => Platform.Bus.Send(ApicMessage.FromMsi(address, data));

    public IInterruptTrigger CreateInterruptTrigger(uint gsi) => new CallbackTrigger(gsi, () => { SetInterruptLine(gsi, true); SetInterruptLine(gsi, false); });

    public IInterruptTrigger CreateMsiTrigger(ulong address, uint data) => new CallbackTrigger(0, () => SignalMsi(address, data));

    private sealed class CallbackTrigger(uint gsi, Action fire) : IInterruptTrigger
    {
        public uint Gsi => gsi;
        public void Trigger() => fire();
        public void Dispose() { }
    }

    public IDisposable RegisterDoorbell(Doorbell doorbell, GuestEvent target)
    {
        doorbell.Validate();
        var entry = (doorbell, target);
        lock (_lock) _doorbells.Add(entry);
        return new Removal(() => { lock (_lock) _doorbells.Remove(entry); });
    }

    private sealed class Removal(Action remove) : IDisposable { public void Dispose() => remove(); }

    /// <summary>True when a guest write matched a doorbell (which is then signalled instead of exiting).</summary>
    internal bool RingDoorbell(AddressSpace space, ulong address, int length, ulong value)
    {
        lock (_lock)
            foreach (var (bell, target) in _doorbells)
                if (bell.Matches(space, address, length, value)) { target.Signal(); return true; }
        return false;
    }

    public IVirtualProcessor CreateProcessor(int id)
    {
        lock (_lock)
        {
            var memory = Memory ??= BuildMemory();
            if (_processors.Count >= _options.ProcessorCount) throw new HypervisorException($"the partition was created for {_options.ProcessorCount} processors");
            var vp = new EmulatedVirtualProcessor(this, id, memory);
            _processors.Add(vp);
            vp.AttachProfiler(_profiler);
            return vp;
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            Clock.Reset();
            foreach (var vp in _processors) vp.ResetToPowerOn();
        }
    }

    /// <summary>Drops decoded code on the pages a device wrote and marks them dirty.</summary>
    public void NotifyDeviceWrite(ulong guestAddress, ulong length)
    {
        var memory = Memory;
        if (memory is null || guestAddress >= memory.Length) return;
        memory.NotifyWritten(guestAddress, Math.Min(length, memory.Length - guestAddress));
    }

    /// <summary>I/O APIC, PICs and PIT as one record (local APICs travel in each processor's record).</summary>
    public SavedRecord SavePlatformState()
    {
        var (pit, gate2) = Platform.Pit.SaveState();
        return SavedRecord.Of(new SoftwarePlatformState(Platform.IoApic.SaveState(), Platform.Pic.SaveState(), pit, gate2));
    }

    public void RestorePlatformState(SavedRecord state)
    {
        if (state.Data.Length == 0) return;
        var s = SoftwarePlatformState.Restore(state, "platform (Emulated backend)");
        Platform.IoApic.RestoreState(s.IoApic);
        Platform.Pic.RestoreState(s.Pics);
        Platform.Pit.RestoreState(s.Pit, s.Gate2);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var vp in _processors) vp.Dispose();
            _processors.Clear();
            _profiler?.Dispose();
            Memory?.Dispose();
            Memory = null;
        }
    }
}
