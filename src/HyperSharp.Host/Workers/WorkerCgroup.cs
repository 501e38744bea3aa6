using System.Globalization;
using HyperSharp.Host.Inventory;

namespace HyperSharp.Host.Workers;

/// <summary>
/// Puts each worker in a cgroup v2 group of its own (ROOT/hypersharp/vm-ID) with the processor settings
/// as limits: Maximum (percent of Count processors) as cpu.max, RelativeWeight as cpu.weight. Where the
/// host cannot (cgroup v1, no cpu controller, no permission) workers run in the host's group and the log
/// says so once.
/// </summary>
public sealed class WorkerCgroup(Action<string> log)
{
    private const string Mount = "/sys/fs/cgroup";
    private const int Period = 100_000;
    private int _warned;

    public string Parent { get; } = Path.Combine(Mount, "hypersharp");

    public void Place(int pid, VmConfiguration config)
    {
        try
        {
            if (!File.Exists(Path.Combine(Mount, "cgroup.controllers")) || !File.ReadAllText(Path.Combine(Mount, "cgroup.controllers")).Split(' ', '\n').Contains("cpu"))
            {
                Warn("this host has no cgroup v2 hierarchy with the cpu controller");
                return;
            }
            Directory.CreateDirectory(Parent);
            File.WriteAllText(Path.Combine(Mount, "cgroup.subtree_control"), "+cpu");
            File.WriteAllText(Path.Combine(Parent, "cgroup.subtree_control"), "+cpu");
            string group = Path.Combine(Parent, "vm-" + config.Id.ToString("N"));
            Directory.CreateDirectory(group);
            long quota = (long)Period * config.Processor.Count * config.Processor.Maximum / 100;
            File.WriteAllText(Path.Combine(group, "cpu.max"), config.Processor.Maximum >= 100 ? $"max {Period}" : string.Create(CultureInfo.InvariantCulture, $"{quota} {Period}"));
            File.WriteAllText(Path.Combine(group, "cpu.weight"), config.Processor.RelativeWeight.ToString(CultureInfo.InvariantCulture));
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
        try { Directory.Delete(Path.Combine(Parent, "vm-" + vmId.ToString("N"))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private void Warn(string why)
    {
        if (Interlocked.Exchange(ref _warned, 1) == 0) log($"workers run without a cgroup of their own: {why}; processor Maximum and RelativeWeight are not enforced");
    }
}
