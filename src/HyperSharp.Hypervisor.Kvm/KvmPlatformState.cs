using HyperSharp.Hypervisor.Kvm.Interop;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>The in-kernel PICs, I/O APIC and PIT as raw kernel images, captured at creation so a partition reset can restore them.</summary>
internal sealed unsafe class KvmPlatformState
{
    private const int IrqchipSize = 520;  // struct kvm_irqchip: chip_id, pad, 512-byte union
    private const int PitStateSize = 112; // struct kvm_pit_state2
    private const int ChipCount = 3;      // 0 = PIC master, 1 = PIC slave, 2 = I/O APIC

    private readonly byte[][] _chips = new byte[ChipCount][];
    private byte[]? _pit;

    private KvmPlatformState() { }

    /// <summary>Reads the current state of every in-kernel platform device.</summary>
    public static KvmPlatformState Capture(int vmFd, bool pit)
    {
        var state = new KvmPlatformState();
        for (int chip = 0; chip < ChipCount; chip++)
        {
            var buffer = new byte[IrqchipSize];
            fixed (byte* p = buffer)
            {
                *(uint*)p = (uint)chip;
                // Safe: buffer has the size KVM_GET_IRQCHIP encodes.
                KvmCall.Ioctl(vmFd, KvmIoctl.GetIrqchip, p, "KVM_GET_IRQCHIP");
            }
            state._chips[chip] = buffer;
        }
        if (pit)
        {
            state._pit = new byte[PitStateSize];
            fixed (byte* p = state._pit)
                // Safe: buffer has the size KVM_GET_PIT2 encodes.
                KvmCall.Ioctl(vmFd, KvmIoctl.GetPit2, p, "KVM_GET_PIT2");
        }
        return state;
    }

    /// <summary>
    /// The saved record: the three chip images, a flag, then the PIT image if any. Version 2; version 1 was the
    /// same behind an int32 version field of its own (saved-state files from before records carried versions).
    /// </summary>
    public SavedRecord ToRecord()
    {
        var w = new StateWriter();
        foreach (var chip in _chips) w.Raw(chip);
        w.Bool(_pit is not null);
        if (_pit is not null) w.Raw(_pit);
        return new SavedRecord(RecordVersion, w.ToArray());
    }

    private const ushort RecordVersion = 2;

    public static KvmPlatformState FromRecord(SavedRecord record)
    {
        const string name = "platform (Kvm backend)";
        if (record.Version > RecordVersion) throw new StateVersionException(name, record.Version, RecordVersion);
        var r = new StateReader(record.Data, name);
        if (record.Version == 1 && r.I32() != 1) throw r.Damaged(0, "the version 1 record does not start with its version");
        var state = new KvmPlatformState();
        for (int chip = 0; chip < ChipCount; chip++) state._chips[chip] = r.Raw(IrqchipSize).ToArray();
        if (r.Bool()) state._pit = r.Raw(PitStateSize).ToArray();
        r.End();
        return state;
    }

    /// <summary>Writes the captured state back.</summary>
    public void Restore(int vmFd)
    {
        foreach (var chip in _chips)
            fixed (byte* p = chip)
                // Safe: buffer has the size KVM_SET_IRQCHIP encodes and came from KVM_GET_IRQCHIP.
                KvmCall.Ioctl(vmFd, KvmIoctl.SetIrqchip, p, "KVM_SET_IRQCHIP");
        if (_pit is not null)
            fixed (byte* p = _pit)
                // Safe: buffer has the size KVM_SET_PIT2 encodes and came from KVM_GET_PIT2.
                KvmCall.Ioctl(vmFd, KvmIoctl.SetPit2, p, "KVM_SET_PIT2");
    }
}
