namespace HyperSharp.Hypervisor;

/// <summary>One virtual machine on a backend: its guest physical memory map, interrupt lines, device doorbells and processors.</summary>
public interface IPartition : IDisposable
{
    /// <summary>Maps host memory at a guest physical address as the slot <see cref="MemorySlot.Id"/> (read-only and dirty tracking per slot).</summary>
    /// <exception cref="HypervisorException">Overlap, bad alignment, or the host cannot afford the slot; the message says the largest size it can take.</exception>
    void MapMemory(MemorySlot slot);

    /// <summary>Removes a slot; guest accesses to its range then become MMIO exits.</summary>
    void UnmapMemory(int slotId);

    /// <summary>
    /// Returns the pages of a slot written since the previous call (or since mapping) and clears the log.
    /// Bit <c>i % 64</c> of word <c>i / 64</c> stands for the 4 KiB page <c>i</c> of the slot. The slot must track dirty pages.
    /// </summary>
    ulong[] GetAndClearDirtyPages(int slotId);

    /// <summary>Drives a platform interrupt line (GSI 0-23 reach the I/O APIC, 0-15 also the PICs) high or low.</summary>
    void SetInterruptLine(uint gsi, bool asserted);

    /// <summary>Delivers one message-signalled interrupt (address and data as a PCI device would write them).</summary>
    void SignalMsi(ulong address, uint data);

    /// <summary>
    /// Creates a trigger that injects an edge on <paramref name="gsi"/> whenever a device thread calls
    /// <see cref="IInterruptTrigger.Trigger"/>, without a round trip through a processor thread (irqfd semantics).
    /// </summary>
    IInterruptTrigger CreateInterruptTrigger(uint gsi);

    /// <summary>
    /// Creates a trigger that delivers the message-signalled interrupt (<paramref name="address"/>, <paramref name="data"/>)
    /// whenever a device thread calls <see cref="IInterruptTrigger.Trigger"/> (irqfd semantics for MSI/MSI-X).
    /// When the guest reprograms the vector, dispose the trigger and create a new one.
    /// </summary>
    IInterruptTrigger CreateMsiTrigger(ulong address, uint data);

    /// <summary>
    /// Makes guest writes to <paramref name="doorbell"/> signal <paramref name="target"/> instead of producing an exit
    /// (ioeventfd semantics); disposing the result removes the doorbell.
    /// </summary>
    IDisposable RegisterDoorbell(Doorbell doorbell, GuestEvent target);

    /// <summary>Creates virtual processor <paramref name="id"/> (also its APIC ID) in its power-on state.</summary>
    IVirtualProcessor CreateProcessor(int id);

    /// <summary>Platform reset: every processor and the backend's interrupt controllers and timer return to their power-on state; guest memory is left as it is.</summary>
    void Reset();

    /// <summary>
    /// A device wrote guest RAM directly (DMA into a span of <see cref="GuestMemory"/>): a backend that
    /// caches decoded guest code or tracks dirty pages in software must hear of it. Thread-safe.
    /// </summary>
    void NotifyDeviceWrite(ulong guestAddress, ulong length);

    /// <summary>
    /// The state of the platform devices the backend provides (interrupt controllers, timer) as a versioned
    /// record in the backend's own encoding (empty data when it has none); restorable on the same backend.
    /// Call while no processor runs.
    /// </summary>
    State.SavedRecord SavePlatformState();

    /// <summary>
    /// Applies what <see cref="SavePlatformState"/> returned on this backend, of this build or an older one; call before
    /// the processors run. A damaged record or one newer than this build throws <see cref="State.StateRecordException"/>.
    /// </summary>
    void RestorePlatformState(State.SavedRecord state);
}
