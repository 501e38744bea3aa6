using HyperSharp.Hypervisor.Kvm.Interop;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>
/// Gives a new vCPU every CPUID leaf KVM supports (KVM_GET_SUPPORTED_CPUID → KVM_SET_CPUID2), with its own APIC ID
/// filled in, and VMX/SVM (which KVM lists where it allows nesting) only when the partition asked for nested virtualization.
/// </summary>
internal static unsafe class KvmCpuidSetup
{
    private const uint Vmx = 1u << 5, Svm = 1u << 2; // CPUID.1:ECX.VMX, CPUID.80000001h:ECX.SVM

    public static void Apply(int vcpuFd, KvmCpuidEntry2[] supported, int apicId, bool nested)
    {
        byte[] buffer = new byte[8 + supported.Length * sizeof(KvmCpuidEntry2)];
        fixed (byte* p = buffer)
        {
            *(uint*)p = (uint)supported.Length;
            var entries = new Span<KvmCpuidEntry2>(p + 8, supported.Length);
            supported.CopyTo(entries);
            foreach (ref var e in entries)
            {
                if (e.Function == 1)
                {
                    e.Ebx = (e.Ebx & 0x00FF_FFFF) | ((uint)(apicId & 0xFF) << 24); // initial APIC ID
                    if (!nested) e.Ecx &= ~Vmx;
                }
                else if (e.Function == 0x8000_0001 && !nested)
                    e.Ecx &= ~Svm;
                else if (e.Function is 0xB or 0x1F)
                    e.Edx = (uint)apicId; // x2APIC ID in the topology leaves
            }
            // Safe: the buffer holds the header and exactly nent entries.
            KvmCall.Ioctl(vcpuFd, KvmIoctl.SetCpuid2, p, "KVM_SET_CPUID2");
        }
    }
}
