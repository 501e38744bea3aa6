using HyperSharp.Hypervisor.Kvm.Interop;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>The MSRs a vCPU's state carries and how to read and write them in one ioctl each (KVM_GET/SET_MSRS).</summary>
internal static unsafe class KvmMsrs
{
    /// <summary>IA32_TSC: written last of all state so the guest clock continues from the saved value.</summary>
    public const uint Tsc = 0x10;

    // Syscall/sysenter entry points, segment bases, PAT, MISC_ENABLE, TSC_AUX and the MTRRs: everything a running
    // kernel sets up that sregs does not carry. EFER and APIC_BASE travel in sregs, FS/GS base in the segments.
    private static readonly uint[] Candidates =
    [
        0xC0000081, 0xC0000082, 0xC0000083, 0xC0000084, // STAR, LSTAR, CSTAR, SFMASK
        0xC0000102, 0xC0000103,                         // KERNEL_GS_BASE, TSC_AUX
        0x174, 0x175, 0x176,                            // SYSENTER_CS/ESP/EIP
        0x277, 0x1A0,                                   // PAT, MISC_ENABLE
        0x2FF, 0x250, 0x258, 0x259, 0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, 0x26E, 0x26F, // MTRR default type and fixed ranges
        0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, 0x208, 0x209, 0x20A, 0x20B, 0x20C, 0x20D, 0x20E, 0x20F, // variable MTRRs
    ];

    private static uint[]? s_supported;

    /// <summary>The candidates this KVM lets us read, probed once per process on the first vCPU.</summary>
    public static uint[] Supported(int vcpuFd)
    {
        if (s_supported is { } known) return known;
        var list = new List<uint>();
        foreach (uint index in Candidates)
        {
            Span<MsrEntry> one = [new MsrEntry(index, 0)];
            if (TryGet(vcpuFd, one) == 1) list.Add(index);
        }
        return s_supported = [.. list];
    }

    /// <summary>Reads the given MSRs in place; returns how many KVM read (it stops at the first it refuses).</summary>
    public static int TryGet(int vcpuFd, Span<MsrEntry> msrs)
    {
        byte[] buffer = Pack(msrs);
        fixed (byte* p = buffer)
        {
            // Safe: the buffer holds the header and exactly nmsrs entries.
            int n = KvmCall.TryIoctl(vcpuFd, KvmIoctl.GetMsrs, p);
            if (n < 0) return 0;
            var entries = new ReadOnlySpan<KvmMsrEntry>(p + 8, msrs.Length);
            for (int i = 0; i < n; i++) msrs[i] = new MsrEntry(entries[i].Index, entries[i].Data);
            return n;
        }
    }

    /// <summary>Writes the MSRs; throws naming the first one KVM refuses.</summary>
    public static void Set(int vcpuFd, ReadOnlySpan<MsrEntry> msrs)
    {
        if (msrs.IsEmpty) return;
        byte[] buffer = Pack(msrs);
        fixed (byte* p = buffer)
        {
            // Safe: the buffer holds the header and exactly nmsrs entries.
            int n = KvmCall.Ioctl(vcpuFd, KvmIoctl.SetMsrs, p, "KVM_SET_MSRS");
            if (n < msrs.Length)
                throw new HypervisorException($"KVM refused MSR 0x{msrs[n].Index:X} = 0x{msrs[n].Value:X} (state from an incompatible processor?).");
        }
    }

    private static byte[] Pack(ReadOnlySpan<MsrEntry> msrs)
    {
        byte[] buffer = new byte[8 + msrs.Length * sizeof(KvmMsrEntry)];
        fixed (byte* p = buffer)
        {
            *(uint*)p = (uint)msrs.Length;
            var entries = new Span<KvmMsrEntry>(p + 8, msrs.Length);
            for (int i = 0; i < msrs.Length; i++) entries[i] = new KvmMsrEntry { Index = msrs[i].Index, Data = msrs[i].Value };
        }
        return buffer;
    }
}
