using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;
using HyperSharp.Api;
using HyperSharp.Api.Tls;
using HyperSharp.Api.V1;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Migration;

/// <summary>One `hyper host` process of a migration test: its own inventory and socket, mutual TLS on its own loopback address.</summary>
public sealed class PeerHostProcess(string name, string root, HostProcess process, GrpcChannel channel, string address) : IDisposable
{
    public string Name { get; } = name;
    /// <summary>The host's own folder (its inventory is ROOT/inv).</summary>
    public string Root { get; } = root;
    public HostProcess Process { get; } = process;
    public string Socket => Path.Combine(Root, "host.sock");
    public VmHost.VmHostClient Client { get; } = new(channel);
    /// <summary>IP:PORT of its API over mutual TLS: what Move-VM -DestinationHost names.</summary>
    public string Address { get; } = address;

    /// <summary>The PIDs of the workers this host runs.</summary>
    public List<int> Workers() => ProcessProbe.FindWorkers().Where(w => w.Key.StartsWith(Root + "/", StringComparison.Ordinal)).Select(w => w.Value).ToList();

    public Task<ListVmsResponse> ListAsync() => Client.ListVmsAsync(new ListVmsRequest()).ResponseAsync;

    public void Dispose()
    {
        foreach (int pid in Workers()) Posix.Signal(pid, Posix.SigKill);
        Process.Dispose();
        channel.Dispose();
    }
}

/// <summary>
/// Hosts on this machine for migration tests, each a `hyper host` process with its own inventory, listening with mutual TLS on
/// its own loopback address (127.0.0.1, .2, ...). Hosts of one trust share an authority whose host certificate names every
/// address; a host of another trust has an authority of its own. Every process is stopped by its PID at the end.
/// </summary>
public sealed class HostPair : IAsyncDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly List<PeerHostProcess> _hosts = [];

    private HostPair(ITestOutputHelper output)
    {
        _output = output;
        Root = Directory.CreateDirectory(Path.Combine("/tmp", "hs-mv-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        Trust = new TlsFiles(Path.Combine(Root, "tls"));
        HostCertificates.Create(Trust, ["localhost"], [.. Enumerable.Range(1, 4).Select(i => IPAddress.Parse($"127.0.0.{i}"))]);
    }

    public string Root { get; }
    public TlsFiles Trust { get; }

    /// <summary>Storage both hosts see at the same path (shared storage).</summary>
    public string Shared => Directory.CreateDirectory(Path.Combine(Root, "shared")).FullName;

    public static HostPair Create(ITestOutputHelper output) => new(output);

    /// <summary>Starts host <paramref name="name"/> on 127.0.0.<paramref name="n"/> with live migration enabled; <paramref name="trust"/> defaults to the shared one.</summary>
    public async Task<PeerHostProcess> StartAsync(string name, int n, TlsFiles? trust = null)
    {
        var ip = IPAddress.Parse($"127.0.0.{n}");
        string root = Directory.CreateDirectory(Path.Combine(Root, name)).FullName, socket = Path.Combine(root, "host.sock");
        int port = FreePort(ip);
        var process = await HostProcess.StartAsync(Path.Combine(root, "inv"), socket,
            options: ["--tls-listen", $"{ip}:{port}", "--tls-dir", (trust ?? Trust).Directory]);
        var host = new PeerHostProcess(name, root, process, HostEndpoint.Connect(socket), $"{ip}:{port}");
        _hosts.Add(host);
        await host.Client.LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationEnabled = true });
        return host;
    }

    private static int FreePort(IPAddress ip)
    {
        using var probe = new TcpListener(ip, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        StopAll(_output, Root, _hosts);
        return ValueTask.CompletedTask;
    }

    /// <summary>Stops every host (and its workers) by PID, writes their logs and the workers' to the test's output, removes <paramref name="root"/>.</summary>
    internal static void StopAll(ITestOutputHelper output, string root, IEnumerable<PeerHostProcess> hosts)
    {
        foreach (var host in hosts)
        {
            host.Dispose();
            try { output.WriteLine($"--- host {host.Name}\n{host.Process.Log}"); } catch (InvalidOperationException) { }
        }
        foreach (var log in Directory.EnumerateFiles(root, "worker.log", SearchOption.AllDirectories))
            try { output.WriteLine($"--- {log}\n{File.ReadAllText(log)}"); } catch (InvalidOperationException) { }
        try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
