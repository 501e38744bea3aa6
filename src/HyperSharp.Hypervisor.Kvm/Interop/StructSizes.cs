using System.Runtime.CompilerServices;

namespace HyperSharp.Hypervisor.Kvm.Interop;

/// <summary>Checks the C# layouts against the kernel's sizes once, so a layout slip fails loudly instead of corrupting state.</summary>
internal static unsafe class StructSizes
{
    /// <summary>Throws when any struct has a size other than the kernel's.</summary>
    public static void Verify()
    {
        Check<KvmRegs>(144); Check<KvmSregs>(312); Check<KvmSegment>(24); Check<KvmFpu>(416); Check<KvmVcpuEvents>(64);
        Check<KvmDebugRegs>(128); Check<KvmXcrs>(392); Check<KvmUserspaceMemoryRegion>(32); Check<KvmDirtyLog>(16);
        Check<KvmIrqfd>(32); Check<KvmIoeventfd>(64); Check<KvmMsi>(32); Check<KvmPitConfig>(64); Check<KvmMsrEntry>(16);
        Check<KvmCpuidEntry2>(40); Check<KvmIrqRoutingEntry>(48); Check<Libc.SigAction>(152);
    }

    private static void Check<T>(int expected) where T : unmanaged
    {
        if (sizeof(T) != expected)
            throw new InvalidOperationException($"Internal error: {typeof(T).Name} is {sizeof(T)} bytes, the kernel expects {expected}.");
    }
}
