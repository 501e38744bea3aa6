using System.Text;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The CPU model the emulator presents through CPUID, in one of two vendors' clothes (<see cref="For"/>). Both advertise
/// exactly what the executor implements (and the differential tests check against the host): FPU, MMX, FXSR, SSE, SSE2,
/// SSE3, SSSE3, CX8, CX16, CMOV, POPCNT, PAE/PSE/PGE/PAT/MTRR, NX, 1 GiB pages, SYSCALL, RDTSCP, long mode, the TSC-deadline
/// timer, and an invariant TSC with IA32_TSC_ADJUST (as KVM gives guests of either vendor): the TSC is host monotonic
/// time, exactly as stable as the guest is told. What differs is what each vendor's processors have: the vendor string,
/// the family/model/stepping, where the vendor puts leaf 1's features again (AMD mirrors them in 80000001h), Intel's TSC
/// frequency leaves (15h/16h; an AMD guest calibrates its TSC against the ACPI PM timer), AMD's configuration MSRs; and,
/// through <see cref="IVendorResults"/>, every undefined result.
/// </summary>
internal sealed class CpuModel
{
    public const string Brand = "HyperSharp Emulated x86-64 CPU";

    // Leaf 1 EDX: FPU PSE TSC MSR PAE CX8 APIC MTRR PGE CMOV PAT CLFSH MMX FXSR SSE SSE2
    private const uint Leaf1Edx = (1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9)
        | (1u << 12) | (1u << 13) | (1u << 15) | (1u << 16) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
    // Leaf 1 ECX: SSE3, SSSE3, CX16, POPCNT, TSC-deadline timer (the local APIC's mode 2), hypervisor present
    private const uint Leaf1Ecx = (1u << 0) | (1u << 9) | (1u << 13) | (1u << 23) | (1u << 24) | (1u << 31);
    // 80000001h EDX: SYSCALL, NX, 1 GiB pages, RDTSCP, LM; ECX: LAHF/SAHF in 64-bit mode
    private const uint Ext1Edx = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29);
    private const uint Ext1Ecx = 1u;
    // AMD repeats these leaf 1 EDX bits in 80000001h EDX (FPU..APIC, MTRR..PSE36, MMX, FXSR); Intel reports them only in leaf 1.
    private const uint AmdMirroredEdx = 0x0183F3FF;
    // Leaf 7 EBX: IA32_TSC_ADJUST (with an invariant TSC, Linux then trusts the TSC without watching it against a slower clock)
    private const uint Leaf7Ebx = 1u << 1;
    // 80000007h EDX: invariant TSC (runs at a constant rate in every power state)
    private const uint Ext7Edx = 1u << 8;

    /// <summary>
    /// Intel: family 6, model 1Ch (an in-order Atom), stepping 10. A software processor has no speculative execution, so
    /// none of the side channels the kernel defends against exist here; this is the model Linux knows as "no speculation"
    /// and so skips page-table isolation, retpolines and return thunks (each a cost on every system call or return in an
    /// emulator, with nothing to protect against). Stepping > 2 keeps clear of that model's PSE erratum check.
    /// </summary>
    public static readonly CpuModel Intel = new(ProcessorVendor.Intel, signature: 0x000106CA, maxBasicLeaf: 0x16);

    /// <summary>
    /// AMD: family 14h (Bobcat), model 2, stepping 0: the AMD family whose processors have this feature set (64-bit,
    /// SSSE3 and POPCNT, no SSE4.1), and one Linux's AMD paths need no model-specific MSRs for. No AMD family is on Linux's
    /// "no speculation" list, so a guest runs its Spectre v1/v2 mitigations (barriers and retpolines; none of the costly
    /// return thunks, which only families 15h-17h and 19h get).
    /// </summary>
    public static readonly CpuModel Amd = new(ProcessorVendor.Amd, signature: 0x00500F20, maxBasicLeaf: 0x7);

    public static CpuModel For(ProcessorVendor vendor) => vendor == ProcessorVendor.Amd ? Amd : Intel;

    private readonly uint _signature, _maxBasicLeaf;
    private readonly uint[] _vendor, _hypervisor, _brand;

    private CpuModel(ProcessorVendor vendor, uint signature, uint maxBasicLeaf)
    {
        Vendor = vendor;
        _signature = signature;
        _maxBasicLeaf = maxBasicLeaf;
        _vendor = Words(vendor.VendorString(), 12);
        _hypervisor = Words("HyperSharpEm", 12);
        _brand = Words(Brand, 48);
    }

    public ProcessorVendor Vendor { get; }

    public void Query(uint leaf, uint sub, uint apicId, out uint a, out uint b, out uint c, out uint d)
    {
        a = b = c = d = 0;
        bool amd = Vendor == ProcessorVendor.Amd;
        if (leaf < 0x40000000 && leaf > _maxBasicLeaf) return;
        switch (leaf)
        {
            case 0:
                a = _maxBasicLeaf;
                (b, d, c) = (_vendor[0], _vendor[1], _vendor[2]);
                break;
            case 1:
                a = _signature;
                b = (apicId << 24) | (1u << 16) | (8u << 8); // one logical processor per package, CLFLUSH line 64 bytes
                c = Leaf1Ecx;
                d = Leaf1Edx;
                break;
            case 7 when sub == 0:
                b = Leaf7Ebx;
                break;
            case 0x15:
                // TSC/crystal ratio 1/1 and the crystal (the local APIC timer's clock) at TscHz: Linux takes the
                // TSC frequency and the APIC timer period from here instead of calibrating against the PIT.
                a = 1; b = 1; c = (uint)X86Cpu.TscHz;
                break;
            case 0x16:
                a = b = c = (uint)(X86Cpu.TscHz / 1_000_000); // base, maximum and bus clock in MHz (Linux's early TSC rate)
                break;
            case 0x40000000:
                // Hypervisor vendor leaf (CPUID.1:ECX.HYPERVISOR is set): identifies the emulator to guests.
                a = 0x40000000;
                (b, c, d) = (_hypervisor[0], _hypervisor[1], _hypervisor[2]);
                break;
            case 0x80000000:
                a = 0x80000008;
                if (amd) (b, d, c) = (_vendor[0], _vendor[1], _vendor[2]); // AMD repeats the vendor string here
                break;
            case 0x80000001:
                if (amd) a = _signature;
                c = Ext1Ecx;
                d = Ext1Edx | (amd ? Leaf1Edx & AmdMirroredEdx : 0);
                break;
            case 0x80000002: case 0x80000003: case 0x80000004:
            {
                int o = (int)(leaf - 0x80000002) * 4;
                (a, b, c, d) = (_brand[o], _brand[o + 1], _brand[o + 2], _brand[o + 3]);
                break;
            }
            case 0x80000007: d = Ext7Edx; break;
            case 0x80000008: a = (48u << 8) | (uint)PageWalker.MaxPhysAddrBits; break; // AMD: ECX 0, one core per package
            // The other leaves up to the maximum (caches, topology, power, XSAVE) report nothing: no features, no cache info.
        }
    }

    private static uint[] Words(string s, int length)
    {
        var bytes = new byte[length];
        Encoding.ASCII.GetBytes(s).CopyTo(bytes, 0);
        var words = new uint[length / 4];
        for (int i = 0; i < words.Length; i++) words[i] = BitConverter.ToUInt32(bytes, i * 4);
        return words;
    }
}
