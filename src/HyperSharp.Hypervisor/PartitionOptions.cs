namespace HyperSharp.Hypervisor;

/// <summary>How to build a partition: processor count and vendor, and which PC platform devices the backend provides itself.</summary>
public sealed record PartitionOptions
{
    /// <summary>Largest number of virtual processors this partition will create (checked against the backend's limit up front).</summary>
    public int ProcessorCount { get; init; } = 1;

    /// <summary>
    /// The vendor the processors present; null for the backend's default. The Emulated backend presents either and follows it
    /// in every result the manuals leave undefined (default <see cref="ProcessorVendor.Intel"/>); Kvm presents the host's
    /// processor and refuses another vendor.
    /// </summary>
    public ProcessorVendor? Vendor { get; init; }

    /// <summary>
    /// The backend provides the PC interrupt controllers (a local APIC per processor, an I/O APIC and the two 8259 PICs)
    /// and routes GSIs 0-23 to them. With them, HLT waits inside <see cref="IVirtualProcessor.Run"/> for an interrupt;
    /// without them, HLT returns a <see cref="ExitKind.Halt"/> exit and interrupt lines are unavailable.
    /// </summary>
    public bool InterruptControllers { get; init; } = true;

    /// <summary>The backend provides the 8254 interval timer (ports 0x40-0x43 and the speaker port 0x61, GSI 0); needs <see cref="InterruptControllers"/>.</summary>
    public bool IntervalTimer { get; init; } = true;

    /// <summary>
    /// Nested virtualization: the processors present VMX (Intel) or SVM (AMD) so the guest can run its own hypervisor.
    /// A backend that cannot refuses the partition, naming the reason (the Emulated processor has neither; KVM only where
    /// its kvm_intel or kvm_amd module allows nesting); without it, the processors present neither.
    /// </summary>
    public bool ExposeVirtualizationExtensions { get; init; }
}
