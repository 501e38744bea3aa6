using HyperSharp.Hypervisor.Kvm.Interop;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>An irqfd: an eventfd the kernel watches; each write injects an edge on the GSI (a line or an MSI route) without a vCPU thread.</summary>
internal sealed unsafe class KvmInterruptTrigger : IInterruptTrigger
{
    private readonly KvmPartition _partition;
    private readonly GuestEvent _event = new();
    private readonly uint _gsi;
    private readonly Action? _onDispose;
    private bool _disposed;

    /// <param name="partition">The VM.</param>
    /// <param name="gsi">The GSI to pulse.</param>
    /// <param name="onDispose">Runs after deassignment (removes an MSI route).</param>
    public KvmInterruptTrigger(KvmPartition partition, uint gsi, Action? onDispose = null)
    {
        _partition = partition;
        _gsi = gsi;
        _onDispose = onDispose;
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

    public void Trigger() => _event.Signal();

    private void Assign(uint flags)
    {
        var irqfd = new KvmIrqfd { Fd = (uint)_event.Handle!.DangerousGetHandle(), Gsi = _gsi, Flags = flags };
        // Safe: stack struct of the encoded size; the eventfd stays open until after deassignment.
        KvmCall.Ioctl(_partition.VmFd, KvmIoctl.Irqfd, &irqfd, $"KVM_IRQFD (GSI {_gsi})");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Assign(KvmIoctl.IrqfdDeassign);
        _event.Dispose();
        _onDispose?.Invoke();
        _partition.Detach(this);
    }
}
