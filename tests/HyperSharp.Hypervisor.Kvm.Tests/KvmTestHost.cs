using HyperSharp.Hypervisor.Kvm;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>Opens KVM for a test, or explains (in the test output) why the test returns early: xunit 2 has no dynamic skip.</summary>
internal static class KvmTestHost
{
    /// <summary>A usable KVM, or null after writing why not. HYPERSHARP_KVM_DEVICE overrides /dev/kvm (to exercise the early return).</summary>
    public static KvmHypervisor? Open(ITestOutputHelper output)
    {
        var hv = new KvmHypervisor(Environment.GetEnvironmentVariable("HYPERSHARP_KVM_DEVICE") ?? "/dev/kvm");
        if (hv.Availability.IsAvailable)
            return hv;
        output.WriteLine("SKIPPED (KVM unusable here): " + hv.Availability.Reason);
        hv.Dispose();
        return null;
    }
}
