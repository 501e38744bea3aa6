using System.Globalization;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Workers;

/// <summary>
/// The memory half of a worker's cgroup: a hard limit of the most guest memory the VM can have while it runs (its startup
/// memory plus its hot-add room) plus a bounded overhead for the worker itself (runtime, translated code, device
/// buffers), so a worker that runs away — a leak, a guest that found a way to make the VMM allocate — is reclaimed and
/// then stopped by the kernel inside its own group instead of pushing the host and its other VMs into swap or the
/// host's OOM killer. cgroup v2 (memory.max) or the v1 memory controller (memory.limit_in_bytes); page cache the worker
/// causes (its disk files) is charged to it too, and reclaimed first.
/// </summary>
public sealed class WorkerMemoryCgroup(string mount = WorkerCgroup.DefaultMount)
{
    /// <summary>The overhead a worker may use beyond its guest's memory: 1 GiB, and 1/32 of the guest memory for what scales with it (at most 8 GiB more).</summary>
    public static long LimitFor(MemorySettings memory)
    {
        long guest = memory.StartupBytes + memory.HotAddBytes();
        return guest + (1L << 30) + Math.Min(guest / 32, 8L << 30);
    }

    private readonly Lazy<(string Kind, string Parent, string LimitFile)?> _hierarchy = new(() => Find(mount));

    /// <summary>"cgroup v2", "cgroup v1", or null when this host has no usable memory controller.</summary>
    public string? Kind => _hierarchy.Value?.Kind;

    /// <summary>The file that holds the VM's limit (whether or not it exists now), or null without a memory controller.</summary>
    public string? LimitFileOf(Guid vmId) => _hierarchy.Value is { } h ? Path.Combine(h.Parent, "vm-" + vmId.ToString("N"), h.LimitFile) : null;

    /// <summary>
    /// Sets the limit for the VM's group and puts the worker in it; the v2 group is the cpu group already made (one
    /// tree), the v1 group a folder of the memory controller's own tree. Throws IOException/UnauthorizedAccessException.
    /// </summary>
    public void Place(int pid, VmConfiguration config)
    {
        if (_hierarchy.Value is not { } h) return;
        Directory.CreateDirectory(h.Parent);
        if (h.Kind == "cgroup v2")
        {
            // A child group gets a controller only when every ancestor delegates it.
            File.WriteAllText(Path.Combine(mount, "cgroup.subtree_control"), "+memory");
            File.WriteAllText(Path.Combine(h.Parent, "cgroup.subtree_control"), "+memory");
        }
        string group = Directory.CreateDirectory(Path.Combine(h.Parent, "vm-" + config.Id.ToString("N"))).FullName;
        File.WriteAllText(Path.Combine(group, h.LimitFile), LimitFor(config.Memory).ToString(CultureInfo.InvariantCulture));
        File.WriteAllText(Path.Combine(group, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Removes the VM's emptied v1 memory group (the v2 group is the cpu group, removed with it).</summary>
    public void Remove(Guid vmId)
    {
        if (_hierarchy.Value is not { Kind: "cgroup v1" } h) return;
        try { Directory.Delete(Path.Combine(h.Parent, "vm-" + vmId.ToString("N"))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static (string, string, string)? Find(string mount)
    {
        string controllers = Path.Combine(mount, "cgroup.controllers");
        if (File.Exists(controllers) && File.ReadAllText(controllers).Split(' ', '\n').Contains("memory"))
            return ("cgroup v2", Path.Combine(mount, "hypersharp"), "memory.max");
        string v1 = Path.Combine(mount, "memory");
        return File.Exists(Path.Combine(v1, "memory.limit_in_bytes")) ? ("cgroup v1", Path.Combine(v1, "hypersharp"), "memory.limit_in_bytes") : null;
    }
}
