using HyperSharp.Hypervisor.Kvm.Interop;

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

    /// <summary>Serialized form for saved state: version, the three chip images, then the PIT image if any.</summary>
    public byte[] ToBytes()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(1); // version
        foreach (var chip in _chips) w.Write(chip);
        w.Write(_pit is not null);
        if (_pit is not null) w.Write(_pit);
        w.Flush();
        return ms.ToArray();
    }

    public static KvmPlatformState FromBytes(byte[] data)
    {
        using var r = new BinaryReader(new MemoryStream(data));
        int version = r.ReadInt32();
        if (version != 1) throw new HypervisorException($"Saved KVM platform state has version {version}; this build reads version 1.");
        var state = new KvmPlatformState();
        for (int chip = 0; chip < ChipCount; chip++) state._chips[chip] = r.ReadBytes(IrqchipSize);
        if (state._chips.Any(c => c.Length != IrqchipSize)) throw new HypervisorException("Saved KVM platform state is truncated.");
        if (r.ReadBoolean()) state._pit = r.ReadBytes(PitStateSize);
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
