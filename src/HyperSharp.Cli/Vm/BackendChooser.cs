using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Hypervisor.Kvm;

namespace HyperSharp.Cli.Vm;

/// <summary>
/// Picks the CPU backend for `--backend auto|kvm|emulated` and says why: Kvm when /dev/kvm runs
/// guest kernel code natively; the Emulated backend when there is no usable KVM or it only emulates
/// kernel code (as a paravirtual KVM does, about a thousand times too slowly to boot Linux).
/// </summary>
internal static class BackendChooser
{
    public static IHypervisor Choose(string backend, TextWriter notices)
    {
        switch (backend)
        {
            case "kvm":
                var kvm = new KvmHypervisor();
                if (!kvm.Availability.IsAvailable) { kvm.Dispose(); throw new UsageException($"the Kvm backend is unusable: {kvm.Availability.Reason}"); }
                return kvm;
            case "emulated":
                return new EmulatedHypervisor();
            case "auto":
                var auto = new KvmHypervisor();
                if (!auto.Availability.IsAvailable)
                {
                    auto.Dispose();
                    notices.WriteLine($"hyper: backend emulated (KVM is unusable: {auto.Availability.Reason})");
                    return new EmulatedHypervisor();
                }
                var probe = KvmProbe.Measure(auto);
                if (probe.KernelCodeNative)
                {
                    notices.WriteLine($"hyper: backend kvm ({probe.Description})");
                    return auto;
                }
                auto.Dispose();
                notices.WriteLine($"hyper: backend emulated (KVM here is {probe.Description}, slower than our software processor for guest kernels)");
                return new EmulatedHypervisor();
            default:
                throw new UsageException($"--backend {backend}: use auto, kvm or emulated");
        }
    }
}
