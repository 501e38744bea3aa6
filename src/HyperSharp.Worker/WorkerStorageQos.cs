using HyperSharp.Inventory;
using HyperSharp.Machine;

namespace HyperSharp.Worker;

/// <summary>
/// The drives' Storage QoS as this worker holds it, by drive name (the slot label the guest reads): seeded from the
/// configuration it was launched with, changed by the host's set-disk-qos and add-disk requests, and applied to every
/// machine the session builds — a boot, a restore, an arrival by live migration, the rebuild after a guest reset — so a
/// limit holds whatever rebuilt the devices. A drive that falls short of its minimum while busy is logged.
/// </summary>
internal sealed class WorkerStorageQos(IEnumerable<DiskSettings> configured, Action<string> log)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, (long Maximum, long Minimum)> _limits =
        configured.Where(d => d.MaximumIops != 0 || d.MinimumIops != 0).ToDictionary(d => d.DriveName(), d => (d.MaximumIops, d.MinimumIops));

    /// <summary>Applies every drive's limits to <paramref name="vm"/>, and serves once more what its disks' queues hold.</summary>
    public void ApplyAll(VirtualMachine vm)
    {
        (string Label, long Maximum, long Minimum)[] limits;
        lock (_lock) limits = [.. _limits.Select(l => (l.Key, l.Value.Maximum, l.Value.Minimum))];
        foreach (var (label, maximum, minimum) in limits) Apply(vm, label, maximum, minimum);
        // A restored or arriving machine's devices never saw the doorbells for what the guest had queued: serve it now.
        foreach (var label in vm.DiskLabels)
            if (!limits.Any(l => l.Label == label)) vm.SetDiskQos(label, 0, 0);
    }

    /// <summary>Records and applies one drive's limits; a drive the machine does not have is an error.</summary>
    public void Set(VirtualMachine vm, string label, long maximum, long minimum)
    {
        lock (_lock)
        {
            if (maximum == 0 && minimum == 0) _limits.Remove(label);
            else _limits[label] = (maximum, minimum);
        }
        if (!Apply(vm, label, maximum, minimum)) throw new InvalidOperationException($"the running VM has no disk named '{label}'");
        log($"worker: storage QoS of '{label}': maximum {Describe(maximum)}, minimum {Describe(minimum)}");
    }

    private bool Apply(VirtualMachine vm, string label, long maximum, long minimum) =>
        vm.SetDiskQos(label, maximum, minimum, minimum == 0 ? null : (units, window) =>
            log($"worker: storage QoS alert: '{label}' did {units / window.TotalSeconds:0} normalized IOPS over {window.TotalSeconds:0.0} s while busy, below its minimum of {minimum}"));

    private static string Describe(long iops) => iops == 0 ? "none" : $"{iops} IOPS";
}
