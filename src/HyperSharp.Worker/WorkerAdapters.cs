using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;
using HyperSharp.Machine;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Virtio.Net;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Interop;
using HyperSharp.Networking.Links;

namespace HyperSharp.Worker;

/// <summary>
/// The worker's network adapters: which virtio-net device is which adapter (the device's name is the adapter's id, the
/// slot label its name when device naming is on, none when off) and the switch-port socket the host passed for each. The worker keeps that socket and gives the
/// device a duplicate, so a guest reset — which rebuilds the VM and its devices — plugs the new device into the same
/// port, and the host notices nothing. Adapters hot-added while the VM ran are cold-plugged into the rebuilt VM.
/// </summary>
internal sealed class WorkerAdapters : IDisposable
{
    private sealed class Adapter(Guid id, MacAddress mac, string? label)
    {
        public Guid Id { get; } = id;
        public MacAddress Mac { get; } = mac;
        public string? Label { get; set; } = label;    // null: the guest sees no name
        public int PortFd { get; set; } = -1;          // the host's switch-port socket; -1 while unplugged
        public VirtioNetDevice? Device { get; set; }   // the device in the running VM
    }

    private readonly object _lock = new();
    private readonly List<Adapter> _adapters = [];

    public WorkerAdapters(IEnumerable<NetworkAdapterSettings> configured)
    {
        foreach (var a in configured) _adapters.Add(new Adapter(a.Id, MacAddress.Parse(a.MacAddress), a.GuestLabel()));
    }

    /// <summary>
    /// Every adapter as the machine builds it, each plugged into its port when the host gave one. With the running
    /// <paramref name="vm"/> (for a saved state) each records its slot, so a restore puts hot-added ones back where they were;
    /// a VM rebuilt after a reset places them afresh.
    /// </summary>
    public IReadOnlyList<NetworkAdapterAttachment> Attachments(VirtualMachine? vm = null)
    {
        lock (_lock)
            return [.. _adapters.Select(a => new NetworkAdapterAttachment(DeviceName(a.Id), a.Mac, Connect: Plug(a))
            {
                Label = a.Label, Slot = vm is not null && a.Device is { } device ? vm.Hotplug.SlotOf(device) : null,
            })];
    }

    /// <summary>How a restored VM's adapter gets its port back (none when the worker has just started: the host connects it).</summary>
    public Func<IFrameLink>? ConnectSaved(SavedNetworkAdapter saved)
    {
        lock (_lock) return _adapters.Find(a => DeviceName(a.Id) == saved.Name) is { } a ? Plug(a) : null;
    }

    /// <summary>
    /// After a build or restore: which of the VM's devices is which adapter, each slot labelled as the host says now — a
    /// restored VM comes back with the labels of its saved state, and the adapter may have been renamed, or had its device
    /// naming turned on or off, while it was saved.
    /// </summary>
    public void Bind(VirtualMachine vm)
    {
        lock (_lock)
            foreach (var a in _adapters)
            {
                a.Device = vm.NetworkAdapters.FirstOrDefault(d => d.Name == DeviceName(a.Id));
                if (a.Device is { } device && vm.Hotplug.SlotOf(device) is int slot) vm.Hotplug.SetSlotLabel(slot, a.Label);
            }
    }

    /// <summary>Plugs the adapter into the port <paramref name="portFd"/> (taking ownership), replacing any it had.</summary>
    public void Connect(Guid id, int portFd)
    {
        lock (_lock)
        {
            var a = Find(id);
            ClosePort(a);
            a.PortFd = portFd;
            a.Device?.Connect(Link(portFd));
        }
    }

    public void Disconnect(Guid id)
    {
        lock (_lock)
        {
            var a = Find(id);
            ClosePort(a);
            a.Device?.Disconnect();
        }
    }

    /// <summary>Hot-adds the adapter (plugged into <paramref name="portFd"/> when given, taking ownership); returns its slot.</summary>
    public int Add(VirtualMachine vm, Guid id, string? label, MacAddress mac, int? portFd)
    {
        lock (_lock)
        {
            if (_adapters.Exists(a => a.Id == id)) throw new InvalidOperationException($"adapter {id} is already in the VM");
            var adapter = new Adapter(id, mac, label) { PortFd = portFd ?? -1 };
            var (device, slot) = vm.Hotplug.AddNetworkAdapter(new NetworkAdapterAttachment(DeviceName(id), mac, Connect: Plug(adapter)) { Label = label });
            adapter.Device = device;
            _adapters.Add(adapter);
            return slot;
        }
    }

    /// <summary>Hot-removes the adapter: completes once the guest has ejected it; then its port is closed.</summary>
    public async Task RemoveAsync(VirtualMachine vm, Guid id, TimeSpan timeout)
    {
        Adapter a;
        int? slot;
        lock (_lock)
        {
            a = Find(id);
            slot = a.Device is { } device ? vm.Hotplug.SlotOf(device) : null;
        }
        if (slot is int s) await vm.Hotplug.RemoveDeviceAsync(s, timeout).ConfigureAwait(false);
        lock (_lock)
        {
            ClosePort(a);
            _adapters.Remove(a);
        }
    }

    /// <summary>Rename-VMNetworkAdapter or -DeviceNaming: the guest reads the new name from the slot label, or none (null) there.</summary>
    public void Rename(VirtualMachine? vm, Guid id, string? label)
    {
        lock (_lock)
        {
            var a = Find(id);
            if (vm is not null && a.Device is { } device && vm.Hotplug.SlotOf(device) is int slot) vm.Hotplug.SetSlotLabel(slot, label);
            a.Label = label;
        }
    }

    /// <summary>
    /// An adapter as the host attaches it (at launch, before the VM is built, or after a host restart): its label, and the
    /// port <paramref name="portFd"/> (taken) or none — a port from a host that has gone is dead, so none unplugs it.
    /// An adapter this worker does not have is refused (and its port closed).
    /// </summary>
    public void Plug(VirtualMachine? vm, WorkerAdapterPlug plug, int? portFd)
    {
        lock (_lock)
        {
            if (!_adapters.Exists(a => a.Id == plug.Id))
            {
                if (portFd is int unused) DescriptorPassing.Close(unused);
                throw new InvalidOperationException($"the VM has no network adapter {plug.Id}");
            }
            Rename(vm, plug.Id, plug.Label);
            if (portFd is int fd) Connect(plug.Id, fd);
            else Disconnect(plug.Id);
        }
    }

    public List<WorkerAdapterStatus> Status(VirtualMachine? vm)
    {
        lock (_lock)
            return [.. _adapters.Select(a => new WorkerAdapterStatus(a.Id, a.Device is { } d && vm is not null ? vm.Hotplug.SlotOf(d) : null, a.Device?.LinkUp ?? false))];
    }

    private Adapter Find(Guid id) => _adapters.Find(a => a.Id == id) ?? throw new InvalidOperationException($"the VM has no network adapter {id}");

    private static Func<IFrameLink>? Plug(Adapter a)
    {
        int fd = a.PortFd;
        return fd >= 0 ? () => Link(fd) : null;
    }

    /// <summary>A link over a duplicate of the port socket: the device closes its copy when it goes, the worker keeps the port.</summary>
    private static FileDescriptorLink Link(int portFd) => SeqpacketLink.FromDescriptor(DescriptorPassing.Duplicate(portFd));

    private static void ClosePort(Adapter a)
    {
        if (a.PortFd >= 0) DescriptorPassing.Close(a.PortFd);
        a.PortFd = -1;
    }

    private static string DeviceName(Guid id) => id.ToString("N");

    public void Dispose()
    {
        lock (_lock) foreach (var a in _adapters) ClosePort(a);
    }
}
