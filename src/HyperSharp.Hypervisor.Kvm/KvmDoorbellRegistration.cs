using HyperSharp.Hypervisor.Kvm.Interop;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>An ioeventfd: guest writes matching the doorbell signal the event inside the kernel, with no exit to user space.</summary>
internal sealed unsafe class KvmDoorbellRegistration : IDisposable
{
    private readonly KvmPartition _partition;
    private readonly Doorbell _doorbell;
    private readonly GuestEvent _target;
    private bool _disposed;

    public KvmDoorbellRegistration(KvmPartition partition, Doorbell doorbell, GuestEvent target)
    {
        _partition = partition;
        _doorbell = doorbell;
        _target = target;
        if (target.Handle is null)
            throw new HypervisorException("The Kvm backend needs an eventfd-backed GuestEvent for doorbells.");
        Apply(0);
    }

    private void Apply(uint extraFlags)
    {
        var io = new KvmIoeventfd
        {
            Addr = _doorbell.Address,
            Len = (uint)_doorbell.Length,
            Fd = (int)_target.Handle!.DangerousGetHandle(),
            Datamatch = _doorbell.DataMatch ?? 0,
            Flags = extraFlags
                | (_doorbell.Space == AddressSpace.Port ? KvmIoctl.IoeventfdPio : 0)
                | (_doorbell.DataMatch is null ? 0 : KvmIoctl.IoeventfdDatamatch),
        };
        // Safe: stack struct of the encoded size; the caller keeps the eventfd open while registered.
        KvmCall.Ioctl(_partition.VmFd, KvmIoctl.Ioeventfd, &io, $"KVM_IOEVENTFD ({_doorbell.Space} 0x{_doorbell.Address:X})");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Apply(KvmIoctl.IoeventfdDeassign);
        _partition.Detach(this);
    }
}
