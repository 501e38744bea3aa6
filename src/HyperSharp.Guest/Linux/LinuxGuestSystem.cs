using System.Diagnostics;

namespace HyperSharp.Guest.Linux;

/// <summary>The real guest: clock_settime, sync + reboot(POWER_OFF) (or systemd's poweroff where systemd runs), FIFREEZE/FITHAW, kill.</summary>
internal sealed class LinuxGuestSystem : IGuestSystem
{
    /// <summary>File systems with nothing on a block device to make consistent (or that cannot freeze).</summary>
    private static readonly HashSet<string> Unfreezable =
    [
        "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "rootfs", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs",
        "pstore", "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs", "autofs", "binfmt_misc", "efivarfs", "nsfs", "squashfs", "iso9660", "overlay", "fuse",
    ];

    public string KvpDirectory => "/var/lib/hyperv";

    public string ExecutablePath { get; } = Environment.ProcessPath ?? "/sbin/hs-agent";

    /// <summary>
    /// execv of the new executable with the same arguments: the process keeps its PID, so whatever started the agent
    /// (the kit's /init, systemd) still has it; every descriptor the agent opened is close-on-exec, the vsock
    /// connection included, so the host sees the old session end.
    /// </summary>
    public void Restart()
    {
        string[] argv = [ExecutablePath, .. Environment.GetCommandLineArgs().Skip(1)];
        Libc.execv(ExecutablePath, [.. argv, null]);
        throw new IOException($"execv {ExecutablePath} failed: {Libc.LastError()}");
    }

    public void SetClock(DateTimeOffset time)
    {
        long ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var spec = new Libc.TimeSpec { Seconds = ticks / TimeSpan.TicksPerSecond, Nanoseconds = ticks % TimeSpan.TicksPerSecond * 100 };
        if (Libc.clock_settime(Libc.CLOCK_REALTIME, spec) != 0) throw new IOException($"clock_settime failed: {Libc.LastError()}");
    }

    public void PowerOff(string reason)
    {
        AgentLog.Kernel($"clean shutdown requested by the host ({reason}): syncing file systems and powering off");
        Libc.sync();
        if (Directory.Exists("/run/systemd/system"))
        {
            // systemd stops the services and unmounts first; reboot(2) below is the fallback if it cannot.
            try { using var p = Process.Start("systemctl", ["poweroff"]); p?.WaitForExit(30_000); return; }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { }
        }
        if (Libc.reboot(Libc.LINUX_REBOOT_CMD_POWER_OFF) != 0) throw new IOException($"reboot(POWER_OFF) failed: {Libc.LastError()}");
    }

    public IReadOnlyList<string> FreezableMountPoints()
    {
        var result = new List<string>();
        foreach (var line in File.ReadAllLines("/proc/self/mounts"))
        {
            var f = line.Split(' ');
            if (f.Length < 4 || Unfreezable.Contains(f[2]) || !f[0].StartsWith('/')) continue; // a block device behind it
            string mountPoint = f[1].Replace("\\040", " ");
            if (!result.Contains(mountPoint)) result.Add(mountPoint);
        }
        return result;
    }

    public void Freeze(string mountPoint) => Ioctl(mountPoint, Libc.FIFREEZE, "FIFREEZE");

    public void Thaw(string mountPoint) => Ioctl(mountPoint, Libc.FITHAW, "FITHAW");

    private static void Ioctl(string mountPoint, ulong request, string name)
    {
        int fd = Libc.open(mountPoint, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        if (fd < 0) throw new IOException($"cannot open {mountPoint}: {Libc.LastError()}");
        try { if (Libc.ioctl(fd, request, IntPtr.Zero) != 0) throw new IOException($"{name} {mountPoint}: {Libc.LastError()}"); }
        finally { Libc.close(fd); }
    }

    public void Signal(int processId, int signal)
    {
        if (Libc.kill(processId, signal) != 0) throw new IOException($"kill({processId}, {signal}): {Libc.LastError()}");
    }
}
