using HyperSharp.Hypervisor.Kvm.Interop;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>
/// The VM's GSI routing table. KVM_SET_GSI_ROUTING replaces the whole table, so adding one MSI route means
/// re-sending KVM's default platform routes (GSI 0-15 → PIC and I/O APIC pin, 16-23 → I/O APIC) with it.
/// MSI routes get GSIs from 24 up; an irqfd on such a GSI delivers the message (irqfd for MSI-X).
/// </summary>
internal sealed unsafe class KvmGsiRouting
{
    private const uint FirstMsiGsi = 24;
    private readonly int _vmFd;
    private readonly uint _maxGsi;
    private readonly Dictionary<uint, (ulong Address, uint Data)> _msiRoutes = [];

    public KvmGsiRouting(int vmFd, int routingCapability)
    {
        _vmFd = vmFd;
        _maxGsi = (uint)Math.Max(routingCapability, (int)FirstMsiGsi);
    }

    /// <summary>Adds an MSI route and returns its GSI.</summary>
    public uint AddMsi(ulong address, uint data)
    {
        lock (_msiRoutes)
        {
            uint gsi = FirstMsiGsi;
            while (_msiRoutes.ContainsKey(gsi)) gsi++;
            if (gsi >= _maxGsi)
                throw new HypervisorException($"All {_maxGsi - FirstMsiGsi} MSI routes of this VM are in use (KVM_CAP_IRQ_ROUTING).");
            _msiRoutes.Add(gsi, (address, data));
            try
            {
                Commit();
            }
            catch
            {
                _msiRoutes.Remove(gsi);
                throw;
            }
            return gsi;
        }
    }

    /// <summary>Removes an MSI route.</summary>
    public void Remove(uint gsi)
    {
        lock (_msiRoutes)
            if (_msiRoutes.Remove(gsi)) Commit();
    }

    private void Commit()
    {
        int count = 16 * 2 + 8 + _msiRoutes.Count;
        var entries = new KvmIrqRoutingEntry[count];
        int n = 0;
        for (uint gsi = 0; gsi < 24; gsi++)
        {
            entries[n++] = Irqchip(gsi, KvmIoctl.IrqchipIoapic, gsi);
            if (gsi < 16)
                entries[n++] = Irqchip(gsi, gsi < 8 ? KvmIoctl.IrqchipPicMaster : KvmIoctl.IrqchipPicSlave, gsi % 8);
        }
        foreach (var (gsi, (address, data)) in _msiRoutes)
        {
            var e = new KvmIrqRoutingEntry { Gsi = gsi, Type = KvmIoctl.RoutingMsi };
            e.U[0] = (uint)address;
            e.U[1] = (uint)(address >> 32);
            e.U[2] = data;
            entries[n++] = e;
        }

        byte[] buffer = new byte[8 + count * sizeof(KvmIrqRoutingEntry)];
        fixed (byte* p = buffer)
        {
            *(uint*)p = (uint)count;
            entries.AsSpan().CopyTo(new Span<KvmIrqRoutingEntry>(p + 8, count));
            // Safe: the buffer holds the header and exactly nr entries.
            KvmCall.Ioctl(_vmFd, KvmIoctl.SetGsiRouting, p, "KVM_SET_GSI_ROUTING");
        }
    }

    private static KvmIrqRoutingEntry Irqchip(uint gsi, uint chip, uint pin)
    {
        var e = new KvmIrqRoutingEntry { Gsi = gsi, Type = KvmIoctl.RoutingIrqchip };
        e.U[0] = chip;
        e.U[1] = pin;
        return e;
    }
}
