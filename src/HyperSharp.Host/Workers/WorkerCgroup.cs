using System.Globalization;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Workers;

/// <summary>
/// Puts each worker in a cgroup of its own (…/hypersharp/vm-ID) with the processor settings as limits (and a memory
/// limit, <see cref="WorkerMemoryCgroup"/>):
/// Maximum (percent of Count processors) as a CFS quota, RelativeWeight as the group's weight. Uses the
/// unified hierarchy (cgroup v2: cpu.max, cpu.weight) where it has the cpu controller, else the v1 cpu
/// controller (cpu.cfs_quota_us, cpu.shares) — Debian 12 boots v2, but hosts and containers with v1
/// still exist, and this one is such. Where neither is usable (no controller, no permission) workers
/// run in the host's group and the log says so once.
/// </summary>
public sealed class WorkerCgroup(Action<string> log, string mount = WorkerCgroup.DefaultMount)
{
    public const string DefaultMount = "/sys/fs/cgroup";
    private const int Period = 100_000;
    private int _warned, _warnedMemory;
    private readonly Lazy<ICpuHierarchy?> _hierarchy = new(() => ICpuHierarchy.Find(mount));

    /// <summary>"cgroup v2", "cgroup v1", or null when workers run in the host's group.</summary>
    public string? Kind => _hierarchy.Value?.Kind;

    /// <summary>The folder of the VM's group (whether or not it exists now), or null without a usable hierarchy.</summary>
    public string? GroupOf(Guid vmId) => _hierarchy.Value is { } h ? Path.Combine(h.Parent, "vm-" + vmId.ToString("N")) : null;

    /// <summary>The worker's memory limit (see <see cref="WorkerMemoryCgroup"/>).</summary>
    public WorkerMemoryCgroup Memory { get; } = new(mount);

    public void Place(int pid, VmConfiguration config)
    {
        PlaceProcessor(pid, config);
        if (Memory.Kind is null)
        {
            WarnOnce(ref _warnedMemory, $"workers run without a memory limit of their own: this host has no memory controller under {mount}");
            return;
        }
        try { Memory.Place(pid, config); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WarnOnce(ref _warnedMemory, $"workers run without a memory limit of their own: cannot set one ({e.Message})");
        }
    }

    private void PlaceProcessor(int pid, VmConfiguration config)
    {
        if (_hierarchy.Value is not { } hierarchy)
        {
            Warn($"this host has no cgroup hierarchy with the cpu controller under {mount}");
            return;
        }
        try
        {
            string group = hierarchy.CreateGroup(config.Id);
            long quota = config.Processor.Maximum >= 100 ? -1 : (long)Period * config.Processor.Count * config.Processor.Maximum / 100;
            hierarchy.SetLimits(group, quota, Period, config.Processor.RelativeWeight);
            File.WriteAllText(Path.Combine(group, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Warn($"cannot create a cgroup for the worker ({e.Message})");
        }
    }

    /// <summary>Removes an emptied VM group (the kernel refuses while a process is in it).</summary>
    public void Remove(Guid vmId)
    {
        Memory.Remove(vmId);
        if (GroupOf(vmId) is not { } group) return;
        try { Directory.Delete(group); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private void Warn(string why) =>
        WarnOnce(ref _warned, $"workers run without a cgroup of their own: {why}; processor Maximum and RelativeWeight are not enforced");

    private void WarnOnce(ref int warned, string message)
    {
        if (Interlocked.Exchange(ref warned, 1) == 0) log(message);
    }

    /// <summary>One cgroup hierarchy's way of spelling the cpu controller's limits.</summary>
    private interface ICpuHierarchy
    {
        string Kind { get; }
        string Parent { get; }
        string CreateGroup(Guid vmId);
        /// <summary>Quota in microseconds per period (-1: no limit); weight 1-10000, 100 the default share.</summary>
        void SetLimits(string group, long quota, int period, int weight);

        static ICpuHierarchy? Find(string mount)
        {
            string controllers = Path.Combine(mount, "cgroup.controllers");
            if (File.Exists(controllers) && File.ReadAllText(controllers).Split(' ', '\n').Contains("cpu")) return new UnifiedHierarchy(mount);
            string v1 = Path.Combine(mount, "cpu");
            if (File.Exists(Path.Combine(v1, "cpu.cfs_quota_us"))) return new CpuControllerV1(v1);
            return null;
        }
    }

    private sealed class UnifiedHierarchy(string mount) : ICpuHierarchy
    {
        public string Kind => "cgroup v2";
        public string Parent { get; } = Path.Combine(mount, "hypersharp");

        public string CreateGroup(Guid vmId)
        {
            Directory.CreateDirectory(Parent);
            // A child group gets a controller only when every ancestor delegates it.
            File.WriteAllText(Path.Combine(mount, "cgroup.subtree_control"), "+cpu");
            File.WriteAllText(Path.Combine(Parent, "cgroup.subtree_control"), "+cpu");
            return Directory.CreateDirectory(Path.Combine(Parent, "vm-" + vmId.ToString("N"))).FullName;
        }

        public void SetLimits(string group, long quota, int period, int weight)
        {
            File.WriteAllText(Path.Combine(group, "cpu.max"), string.Create(CultureInfo.InvariantCulture, $"{(quota < 0 ? "max" : quota.ToString(CultureInfo.InvariantCulture))} {period}"));
            File.WriteAllText(Path.Combine(group, "cpu.weight"), weight.ToString(CultureInfo.InvariantCulture));
        }
    }

    private sealed class CpuControllerV1(string controllerMount) : ICpuHierarchy
    {
        public string Kind => "cgroup v1";
        public string Parent { get; } = Path.Combine(controllerMount, "hypersharp");

        public string CreateGroup(Guid vmId) => Directory.CreateDirectory(Path.Combine(Parent, "vm-" + vmId.ToString("N"))).FullName;

        public void SetLimits(string group, long quota, int period, int weight)
        {
            // The period first: the kernel checks the quota against the period in force.
            File.WriteAllText(Path.Combine(group, "cpu.cfs_period_us"), period.ToString(CultureInfo.InvariantCulture));
            File.WriteAllText(Path.Combine(group, "cpu.cfs_quota_us"), quota.ToString(CultureInfo.InvariantCulture));
            // v2's weight 100 is v1's 1024 shares (the kernel maps them the same way); v1 takes 2 at least.
            File.WriteAllText(Path.Combine(group, "cpu.shares"), Math.Max(2L, weight * 1024L / 100).ToString(CultureInfo.InvariantCulture));
        }
    }
}
