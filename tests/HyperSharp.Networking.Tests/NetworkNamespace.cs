using System.Diagnostics;
using System.Runtime.InteropServices;

namespace HyperSharp.Networking.Tests;

/// <summary>
/// A network namespace a test creates (ip netns add) and deletes by name, so tests never touch the
/// machine's real interfaces. <see cref="Enter{T}"/> runs code on a thread moved into the
/// namespace (setns), so sockets, TAP devices and packet sockets it creates live there.
/// </summary>
public sealed partial class NetworkNamespace : IDisposable
{
    private const int CloneNewNet = 0x40000000;

    private NetworkNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>A fresh namespace, or null with the reason when this host cannot make one (not root, no ip).</summary>
    public static (NetworkNamespace? Namespace, string Why) Create()
    {
        if (Environment.UserName != "root" && geteuid() != 0) return (null, "network namespaces need root");
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip")) return (null, "iproute2 (ip) is not installed");
        string name = $"hs-test-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        var (code, text) = RunIp("netns", "add", name);
        if (code != 0) return (null, $"ip netns add failed: {text}");
        var ns = new NetworkNamespace(name);
        ns.Ip("link", "set", "lo", "up");
        return (ns, "");
    }

    /// <summary>Runs `ip ARGS` inside the namespace; throws with ip's message on failure.</summary>
    /// <summary>A veth pair inside the namespace, both ends up.</summary>
    public void AddVethPair(string name, string peer)
    {
        Ip("link", "add", name, "type", "veth", "peer", "name", peer);
        Ip("link", "set", name, "up");
        Ip("link", "set", peer, "up");
    }

    public void Ip(params string[] args)
    {
        var (code, text) = RunIp(["netns", "exec", Name, "ip", .. args]);
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} in {Name}: {text}");
    }

    public string IpOutput(params string[] args) => RunIp(["netns", "exec", Name, "ip", .. args]).Output;

    /// <summary>Runs <paramref name="work"/> on a new thread that has joined the namespace.</summary>
    public Task<T> Enter<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{Name}");
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0) throw new InvalidOperationException($"setns into {Name}: errno {Marshal.GetLastPInvokeError()}");
                done.SetResult(work());
            }
            catch (Exception e) { done.SetException(e); }
        }) { IsBackground = true };
        thread.Start();
        return done.Task;
    }

    private static (int Code, string Output) RunIp(params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        if (!p.WaitForExit(10_000)) { p.Kill(); return (-1, "ip timed out"); }
        return (p.ExitCode, output.Trim());
    }

    /// <summary>Deleting the namespace destroys every interface inside it (veth pairs, TAPs moved in).</summary>
    public void Dispose() => RunIp("netns", "del", Name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
