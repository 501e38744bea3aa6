namespace HyperSharp.Hypervisor.Kvm;

/// <summary>The Kvm backend: runs guests with Linux KVM through /dev/kvm. Never throws on construction; see <see cref="Availability"/>.</summary>
public sealed class KvmHypervisor : IHypervisor, IDisposable
{
    private readonly KvmSystem? _system;
    private Interop.KvmCpuidEntry2[]? _cpuid;

    /// <summary>Opens the KVM device (default /dev/kvm) and records whether it is usable.</summary>
    public KvmHypervisor(string devicePath = "/dev/kvm")
    {
        DevicePath = devicePath;
        _system = KvmSystem.TryOpen(devicePath, out string reason);
        Availability = _system is null ? HypervisorAvailability.Unavailable(reason) : HypervisorAvailability.Available(reason);
    }

    /// <inheritdoc/>
    public string Name => "kvm";

    /// <summary>The device this backend uses.</summary>
    public string DevicePath { get; }

    /// <inheritdoc/>
    public HypervisorAvailability Availability { get; }

    /// <summary>Most virtual processors one partition may have on this host (KVM_CAP_MAX_VCPUS).</summary>
    public int MaxProcessorCount => System.MaxVcpus;

    internal KvmSystem System => _system ?? throw new HypervisorException("KVM is unavailable: " + Availability.Reason);

    /// <summary>Supported CPUID leaves, read once per hypervisor (the same for every vCPU of every partition).</summary>
    internal Interop.KvmCpuidEntry2[] SupportedCpuid => LazyInitializer.EnsureInitialized(ref _cpuid, System.SupportedCpuid);

    /// <summary>The vendor string guests see (CPUID leaf 0 as KVM supports it: the host processor's).</summary>
    internal string VendorString
    {
        get
        {
            foreach (var e in SupportedCpuid)
                if (e.Function == 0) return ProcessorVendors.VendorString(e.Ebx, e.Edx, e.Ecx);
            return "";
        }
    }

    /// <inheritdoc/>
    public IPartition CreatePartition(PartitionOptions options) => new KvmPartition(this, options);

    /// <summary>Closes /dev/kvm; partitions already created keep working.</summary>
    public void Dispose() => _system?.Dispose();
}
