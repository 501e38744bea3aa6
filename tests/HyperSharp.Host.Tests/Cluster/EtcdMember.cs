using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using HyperSharp.Cluster;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>
/// One etcd member (Debian's etcd-server) for a test: on 127.0.0.1 with ports picked here, its data in a temporary folder,
/// stopped (or paused and resumed) by its own PID. Its election ticks are short so leases as short as one second hold.
/// </summary>
public sealed class EtcdMember : IDisposable
{
    public const string Binary = "/usr/bin/etcd";
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _data;

    private EtcdMember(Process process, string data, string endpoint)
    {
        _process = process;
        _data = data;
        Endpoint = endpoint;
    }

    /// <summary>Its client URL (http://127.0.0.1:PORT).</summary>
    public string Endpoint { get; }
    public int Pid => _process.Id;
    public string Log { get { lock (_log) return _log.ToString(); } }

    public static async Task<EtcdMember> StartAsync()
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException($"{Binary} is missing: install etcd-server (eng/install-test-deps.sh does)");
        string data = Directory.CreateTempSubdirectory("hs-etcd-").FullName;
        int client = FreePort(), peer = FreePort();
        string clientUrl = $"http://127.0.0.1:{client}", peerUrl = $"http://127.0.0.1:{peer}";
        var psi = new ProcessStartInfo(Binary) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[]
        {
            "--name", "m1", "--data-dir", data, "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
            "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", $"m1={peerUrl}",
            // Short ticks: etcd's shortest lease is 1.5 election timeouts, and the short-setting tests use one-second leases.
            "--heartbeat-interval", "50", "--election-timeout", "500",
        }) psi.ArgumentList.Add(a);
        var member = new EtcdMember(Process.Start(psi)!, data, clientUrl);
        member._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (member._log) member._log.AppendLine(e.Data); };
        member._process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (member._log) member._log.AppendLine(e.Data); };
        member._process.BeginErrorReadLine();
        member._process.BeginOutputReadLine();
        using var store = new EtcdStore([clientUrl]);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (member._process.HasExited) throw new InvalidOperationException($"etcd exited with {member._process.ExitCode}: {member.Log}");
            try
            {
                await store.GetAsync("/ready", TimeSpan.FromSeconds(1));
                return member;
            }
            catch (ClusterException) when (DateTime.UtcNow < deadline) { await Task.Delay(50); }
        }
    }

    /// <summary>SIGSTOP: the member stops answering (a node cut from etcd) until <see cref="Resume"/>.</summary>
    public void Pause() => Posix.Signal(Pid, 19);

    public void Resume() => Posix.Signal(Pid, 18);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Posix.Signal(Pid, Posix.SigKill);
            _process.WaitForExit();
        }
        _process.Dispose();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}
