using HyperSharp.Hypervisor.Kvm.Interop;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>An irqfd: an eventfd the kernel watches; each write injects an edge on the GSI without involving a vCPU thread.</summary>
internal sealed unsafe class KvmInterruptTrigger : IInterruptTrigger
{
    private readonly KvmPartition _partition;
    private readonly GuestEvent _event = new();
    private bool _disposed;

    public KvmInterruptTrigger(KvmPartition partition, uint gsi)
    {
        _partition = partition;
        Gsi = gsi;
        try
        {
            Assign(0);
        }
        catch
        {
            _event.Dispose();
            throw;
        }
    }

    public uint Gsi { get; }

    public void Trigger() => _event.Signal();

    private void Assign(uint flags)
    {
        var irqfd = new KvmIrqfd { Fd = (uint)_event.Handle.DangerousGetHandle(), Gsi = Gsi, Flags = flags };
        // Safe: stack struct of the encoded size; the eventfd stays open until after deassignment.
        KvmCall.Ioctl(_partition.VmFd, KvmIoctl.Irqfd, &irqfd, $"KVM_IRQFD (GSI {Gsi})");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Assign(KvmIoctl.IrqfdDeassign);
        _event.Dispose();
        _partition.Detach(this);
    }
}
