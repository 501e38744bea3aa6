using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.Kvm;

namespace HyperSharp.Cli.Vm;

/// <summary>
/// Picks the CPU backend for `--backend auto|kvm|emulated` and says why: Kvm when /dev/kvm runs
/// guest kernel code natively; otherwise the Emulated backend — which this build does not contain
/// yet, so auto falls back to Kvm with a warning about its speed here.
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
                throw new UsageException("the Emulated backend (software processor) is not part of this build yet; use --backend kvm");
            case "auto":
                var auto = new KvmHypervisor();
                if (!auto.Availability.IsAvailable)
                {
                    auto.Dispose();
                    throw new UsageException($"no usable backend: KVM is unusable ({auto.Availability.Reason}) and the Emulated backend is not part of this build yet");
                }
                var probe = KvmProbe.Measure(auto);
                notices.WriteLine(probe.KernelCodeNative
                    ? $"hyper: backend kvm ({probe.Description})"
                    : $"hyper: backend kvm, although {probe.Description}: guest kernel code will run slowly (the Emulated backend that would be chosen here is not part of this build yet)");
                return auto;
            default:
                throw new UsageException($"--backend {backend}: use auto, kvm or emulated");
        }
    }
}
