using System.Globalization;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Platform;

/// <summary>
/// What /proc says about a process: whether it is a given VM's worker (its command line names the VM
/// folder, so a recycled PID is never mistaken for it), and its CPU time for Get-VM's CPU usage.
/// </summary>
internal static class ProcessProbe
{
    /// <summary>The clock ticks per second /proc/PID/stat counts in (USER_HZ, 100 on every Linux ABI).</summary>
    private const double TicksPerSecond = 100;

    /// <summary>The argv of a live process, or null once it is gone (zombies have an empty one).</summary>
    public static string[]? CommandLine(int pid)
    {
        try
        {
            var raw = File.ReadAllText($"/proc/{pid}/cmdline");
            if (raw.Length == 0) return null;
            return raw.TrimEnd('\0').Split('\0');
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>True if <paramref name="pid"/> is a live `hyper worker` for the VM in <paramref name="vmFolder"/>.</summary>
    public static bool IsWorkerFor(int pid, string vmFolder) =>
        CommandLine(pid) is { } argv && WorkerArguments.Matches(argv, vmFolder);

    /// <summary>Every live worker process on this machine, keyed by the VM folder it runs.</summary>
    public static Dictionary<string, int> FindWorkers()
    {
        var found = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            if (CommandLine(pid) is { } argv && WorkerArguments.FolderOf(argv) is { } folder) found[folder] = pid;
        }
        return found;
    }

    /// <summary>True while <paramref name="pid"/> exists and has not ended (a zombie has ended).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[stat.LastIndexOf(')') + 2];
            return state is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
    }

    /// <summary>User plus system CPU time of a process, or null once it is gone.</summary>
    public static TimeSpan? CpuTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long utime = long.Parse(fields[11], CultureInfo.InvariantCulture), stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds((utime + stime) / TicksPerSecond);
        }
        catch (IOException) { return null; }
    }
}
