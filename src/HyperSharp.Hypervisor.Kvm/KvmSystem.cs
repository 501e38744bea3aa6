using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Kvm.Interop;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>The open /dev/kvm: API version check, capability queries, supported CPUID; opening explains every way it can fail.</summary>
internal sealed unsafe class KvmSystem : IDisposable
{
    private int _fd;

    private KvmSystem(int fd, int vcpuMmapSize)
    {
        _fd = fd;
        VcpuMmapSize = vcpuMmapSize;
    }

    /// <summary>The /dev/kvm fd (VMs are created from it).</summary>
    public int Fd => _fd;

    /// <summary>Size of each vCPU's kvm_run mapping.</summary>
    public int VcpuMmapSize { get; }

    /// <summary>Opens <paramref name="path"/> and checks it is a usable KVM; returns null and a reason a user can act on otherwise.</summary>
    public static KvmSystem? TryOpen(string path, out string reason)
    {
        StructSizes.Verify();
        int fd = Libc.Open(path, Libc.ORdWr | Libc.OCloexec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            reason = errno switch
            {
                Libc.ENOENT => $"{path} does not exist: this host has no KVM (no hardware virtualization, or the kvm_intel/kvm_amd module is not loaded). Enable VT-x/AMD-V and load the module, or use --backend emulated.",
                Libc.EACCES => $"Permission denied opening {path}: add this user to the group that owns it (usually 'kvm') or run as root, or use --backend emulated.",
                Libc.ENXIO or Libc.ENODEV => $"{path} exists but no KVM driver answers it (module unloaded?). Load kvm_intel or kvm_amd, or use --backend emulated.",
                _ => $"Cannot open {path}: {Libc.Describe(errno)}. Use --backend emulated if KVM cannot be fixed on this host.",
            };
            return null;
        }

        int api = Libc.Ioctl(fd, KvmIoctl.GetApiVersion, 0);
        int apiErrno = Marshal.GetLastPInvokeError();
        if (api != KvmIoctl.ApiVersion)
        {
            Libc.Close(fd);
            reason = api < 0
                ? $"{path} is not a KVM device (KVM_GET_API_VERSION failed: {Libc.Describe(apiErrno)}). Point HyperSharp at /dev/kvm or use --backend emulated."
                : $"{path} speaks KVM API version {api}, HyperSharp needs version {KvmIoctl.ApiVersion}: this kernel's KVM is not supported. Use --backend emulated.";
            return null;
        }

        var missing = new List<string>();
        foreach (var (cap, name) in RequiredCapabilities)
            if (Libc.Ioctl(fd, KvmIoctl.CheckExtension, cap) <= 0)
                missing.Add(name);
        if (missing.Count > 0)
        {
            Libc.Close(fd);
            reason = $"{path} lacks required KVM capabilities: {string.Join(", ", missing)}. Use a newer kernel or --backend emulated.";
            return null;
        }

        int mmapSize = Libc.Ioctl(fd, KvmIoctl.GetVcpuMmapSize, 0);
        if (mmapSize <= 0)
        {
            Libc.Close(fd);
            reason = $"{path}: KVM_GET_VCPU_MMAP_SIZE failed: {Libc.LastError()}.";
            return null;
        }
        reason = $"KVM API {api}";
        return new KvmSystem(fd, mmapSize);
    }

    private static readonly (int Cap, string Name)[] RequiredCapabilities =
    [
        (KvmIoctl.CapUserMemory, "KVM_CAP_USER_MEMORY"), (KvmIoctl.CapIrqchip, "KVM_CAP_IRQCHIP"),
        (KvmIoctl.CapIrqfd, "KVM_CAP_IRQFD"), (KvmIoctl.CapIoeventfd, "KVM_CAP_IOEVENTFD"),
        (KvmIoctl.CapImmediateExit, "KVM_CAP_IMMEDIATE_EXIT"), (KvmIoctl.CapVcpuEvents, "KVM_CAP_VCPU_EVENTS"),
        (KvmIoctl.CapSignalMsi, "KVM_CAP_SIGNAL_MSI"),
    ];

    /// <summary>KVM_CHECK_EXTENSION: 0 when absent, otherwise the capability's value (often a count or size).</summary>
    public int Capability(int cap)
    {
        int r = Libc.Ioctl(_fd, KvmIoctl.CheckExtension, cap);
        return r < 0 ? 0 : r;
    }

    /// <summary>Most vCPUs one VM may have (KVM_CAP_MAX_VCPUS, falling back to NR_VCPUS, then 4 as the API documents).</summary>
    public int MaxVcpus
    {
        get
        {
            int max = Capability(KvmIoctl.CapMaxVcpus);
            if (max == 0) max = Capability(KvmIoctl.CapNrVcpus);
            return max == 0 ? 4 : max;
        }
    }

    /// <summary>KVM_GET_SUPPORTED_CPUID: every leaf this KVM can expose to a guest.</summary>
    public KvmCpuidEntry2[] SupportedCpuid()
    {
        for (int count = 128; ; count *= 2)
        {
            byte[] buffer = new byte[8 + count * sizeof(KvmCpuidEntry2)];
            fixed (byte* p = buffer)
            {
                *(uint*)p = (uint)count;
                // Safe: the buffer holds the header and `count` entries, as nent tells the kernel.
                int r = KvmCall.TryIoctl(_fd, KvmIoctl.GetSupportedCpuid, p);
                if (r == -Libc.E2BIG && count < 4096) continue;
                if (r < 0) throw new HypervisorException($"KVM_GET_SUPPORTED_CPUID failed: {Libc.Describe(-r)}.");
                int n = (int)*(uint*)p;
                return new ReadOnlySpan<KvmCpuidEntry2>(p + 8, n).ToArray();
            }
        }
    }

    /// <summary>Closes /dev/kvm (VMs already created stay valid).</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) Libc.Close(fd);
    }
}
