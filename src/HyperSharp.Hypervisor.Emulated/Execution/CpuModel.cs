using System.Text;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The one CPU model the emulator presents through CPUID. It advertises exactly what the executor
/// implements (and the differential tests check against the host): FPU, MMX, FXSR, SSE, SSE2, SSE3, SSSE3,
/// CX8, CX16, CMOV, POPCNT, PAE/PSE/PGE/PAT/MTRR, NX, 1 GiB pages, SYSCALL, RDTSCP, long mode; an invariant
/// TSC of known frequency (leaf 15h) with IA32_TSC_ADJUST, so a guest neither calibrates it nor watches it
/// against slower clocks: the TSC is host monotonic time, exactly as stable as the guest is told.
/// </summary>
internal static class CpuModel
{
    private const string Vendor = "GenuineIntel";
    private const string Brand = "HyperSharp Emulated x86-64 CPU";

    // Leaf 1 EDX: FPU PSE TSC MSR PAE CX8 APIC MTRR PGE CMOV PAT CLFSH MMX FXSR SSE SSE2
    private const uint Leaf1Edx = (1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9)
        | (1u << 12) | (1u << 13) | (1u << 15) | (1u << 16) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
    // Leaf 1 ECX: SSE3, SSSE3, CX16, POPCNT, TSC-deadline timer (the local APIC's mode 2), hypervisor present
    private const uint Leaf1Ecx = (1u << 0) | (1u << 9) | (1u << 13) | (1u << 23) | (1u << 24) | (1u << 31);
    // 80000001h EDX: SYSCALL, NX, 1 GiB pages, RDTSCP, LM; ECX: LAHF/SAHF in 64-bit mode
    private const uint Ext1Edx = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29);
    private const uint Ext1Ecx = 1u;
    // Leaf 7 EBX: IA32_TSC_ADJUST
    private const uint Leaf7Ebx = 1u << 1;
    // 80000007h EDX: invariant TSC (runs at a constant rate in every power state)
    private const uint Ext7Edx = 1u << 8;

    public static void Query(uint leaf, uint sub, uint apicId, out uint a, out uint b, out uint c, out uint d)
    {
        a = b = c = d = 0;
        switch (leaf)
        {
            case 0:
                a = 0x16;
                Regs(Vendor, out b, out d, out c);
                break;
            case 1:
                // Family 6, model 1Ch (an in-order Atom), stepping 10. A software processor has no speculative
                // execution, so none of the side channels the kernel defends against exist here; this is the model
                // Linux knows as "no speculation" and so skips page-table isolation, retpolines and return thunks
                // (each a cost on every system call or return in an emulator, with nothing to protect against).
                // Stepping > 2 keeps clear of that model's PSE erratum check.
                a = 0x000106CA;
                b = (apicId << 24) | (1u << 16) | (8u << 8);
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
                Regs("HyperSharpEm", out b, out c, out d);
                break;
            case 0x80000000: a = 0x80000008; break;
            case 0x80000001: c = Ext1Ecx; d = Ext1Edx; break;
            case 0x80000007: d = Ext7Edx; break;
            case 0x80000002: case 0x80000003: case 0x80000004:
            {
                var bytes = new byte[48];
                Encoding.ASCII.GetBytes(Brand).CopyTo(bytes, 0);
                int o = (int)(leaf - 0x80000002) * 16;
                a = BitConverter.ToUInt32(bytes, o); b = BitConverter.ToUInt32(bytes, o + 4);
                c = BitConverter.ToUInt32(bytes, o + 8); d = BitConverter.ToUInt32(bytes, o + 12);
                break;
            }
            case 0x80000008: a = (48u << 8) | (uint)X86Cpu.MaxPhysAddrBits; break;
            // Leaves 2-6 and 8-14h (caches, topology, power, XSAVE) report nothing: no features, no cache info.
        }
    }

    private static void Regs(string s, out uint b, out uint d, out uint c)
    {
        var bytes = Encoding.ASCII.GetBytes(s);
        b = BitConverter.ToUInt32(bytes, 0); d = BitConverter.ToUInt32(bytes, 4); c = BitConverter.ToUInt32(bytes, 8);
    }
}
