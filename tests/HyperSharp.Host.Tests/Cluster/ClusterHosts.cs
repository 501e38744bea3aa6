using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;
using HyperSharp.Api;
using HyperSharp.Api.Tls;
using HyperSharp.Api.V1;
using HyperSharp.Host.Tests.Migration;
using HyperSharp.Inventory.Platform;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>One `hyper host` process started as a cluster node: the host (as the migration tests have it) and a FailoverCluster client.</summary>
public sealed class ClusterHost(PeerHostProcess host) : IDisposable
{
    private readonly GrpcChannel _channel = HostEndpoint.Connect(host.Socket);

    public PeerHostProcess Host { get; } = host;
    public string Name => Host.Name;
    public HostProcess Process => Host.Process;
    public VmHost.VmHostClient Vms => Host.Client;
    public FailoverCluster.FailoverClusterClient Cluster => new(_channel);
    public ClusterMaintenance.ClusterMaintenanceClient Maintenance => new(_channel);

    /// <summary>A real node death: the host and every worker it runs, SIGKILLed by their PIDs at once.</summary>
    public void Kill()
    {
        var workers = Host.Workers();
        Posix.Signal(Process.Pid, Posix.SigKill);
        foreach (int pid in workers) Posix.Signal(pid, Posix.SigKill);
        Process.Kill();
    }

    public async Task<List<Vm>> RunningAsync() => [.. (await Host.ListAsync()).Vms.Where(v => v.State is VmState.Running or VmState.Starting)];

    /// <summary>Closes the cluster client; the host itself is stopped by <see cref="HostPair.StopAll"/>.</summary>
    public void Dispose() => _channel.Dispose();
}

/// <summary>
/// Cluster nodes on this machine for a test: one etcd member, and `hyper host` processes each with its own inventory and
/// socket, all seeing one folder as shared storage (the VMs' folders live there). Everything is stopped by its PID.
/// </summary>
public sealed class ClusterHosts : IAsyncDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly List<ClusterHost> _hosts = [];

    private ClusterHosts(ITestOutputHelper output, EtcdMember etcd)
    {
        _output = output;
        Etcd = etcd;
        Root = Directory.CreateDirectory(Path.Combine("/tmp", "hs-cl-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        Shared = Directory.CreateDirectory(Path.Combine(Root, "shared")).FullName;
    }

    public EtcdMember Etcd { get; }
    public string Root { get; }
    public string Shared { get; }
    public IReadOnlyList<ClusterHost> Hosts => _hosts;

    public static async Task<ClusterHosts> StartAsync(ITestOutputHelper output, params string[] nodes)
    {
        var hosts = new ClusterHosts(output, await EtcdMember.StartAsync());
        foreach (var node in nodes) await hosts.StartNodeAsync(node);
        return hosts;
    }

    /// <summary>
    /// As <see cref="StartAsync"/>, each node also taking live migrations (drain, failback, moves): mutual TLS on its own
    /// loopback address (127.0.0.1, .2, ... in start order) with certificates of one authority, migration enabled.
    /// </summary>
    public static async Task<ClusterHosts> StartMigratingAsync(ITestOutputHelper output, params string[] nodes)
    {
        var hosts = new ClusterHosts(output, await EtcdMember.StartAsync());
        hosts._trust = new TlsFiles(Path.Combine(hosts.Root, "tls"));
        HostCertificates.Create(hosts._trust, ["localhost"], [.. Enumerable.Range(1, 8).Select(i => IPAddress.Parse($"127.0.0.{i}"))]);
        foreach (var node in nodes) await hosts.StartNodeAsync(node);
        return hosts;
    }

    private TlsFiles? _trust;

    public async Task<ClusterHost> StartNodeAsync(string name)
    {
        string root = Directory.CreateDirectory(Path.Combine(Root, name)).FullName, socket = Path.Combine(root, "host.sock");
        List<string> options = ["--cluster-etcd", Etcd.Endpoint, "--cluster-node", name];
        string address = "";
        if (_trust is not null)
        {
            var ip = IPAddress.Parse($"127.0.0.{_hosts.Count + 1}");
            using (var probe = new TcpListener(ip, 0))
            {
                probe.Start();
                address = $"{ip}:{((IPEndPoint)probe.LocalEndpoint).Port}";
            }
            options.AddRange(["--tls-listen", address, "--tls-dir", _trust.Directory]);
        }
        var process = await HostProcess.StartAsync(Path.Combine(root, "inv"), socket, options: options);
        var host = new ClusterHost(new PeerHostProcess(name, root, process, HostEndpoint.Connect(socket), address));
        _hosts.Add(host);
        if (_trust is not null) await host.Vms.LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationEnabled = true });
        return host;
    }

    /// <summary>New-Cluster with every node, then waits until each one is Up.</summary>
    public async Task<ClusterInfo> CreateClusterAsync(int delayMs = 0, int threshold = 0)
    {
        var request = new NewClusterRequest { Name = "hsc", SameSubnetDelayMs = delayMs, SameSubnetThreshold = threshold };
        request.Nodes.AddRange(_hosts.Select(h => h.Name));
        var info = await _hosts[0].Cluster.NewClusterAsync(request);
        await WaitAsync(async () => (await _hosts[0].Cluster.ListClusterNodesAsync(new ListClusterNodesRequest())).Nodes.All(n => n.State == "Up"), "every node Up");
        return info;
    }

    /// <summary>A counting guest (Emulated backend) made on <paramref name="host"/> in a folder on the shared storage, started.</summary>
    public async Task<Vm> StartCounterAsync(ClusterHost host, string name)
    {
        string kernel = Path.Combine(Shared, "counter.elf");
        if (!File.Exists(kernel)) await File.WriteAllBytesAsync(kernel, TestGuests.Counter(2_000_000));
        await host.Vms.CreateVmAsync(new CreateVmRequest { Name = name, Boot = new BootSource { KernelPath = kernel }, MemoryStartupBytes = 64L << 20, Backend = "emulated", Path = Shared });
        return await host.Vms.StartVmAsync(new VmRef { Name = name });
    }

    public static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromMinutes(3));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20); // the API is the record asked; looked at until it shows
        }
    }

    public ValueTask DisposeAsync()
    {
        HostPair.StopAll(_output, Root, _hosts.Select(h => h.Host));
        foreach (var host in _hosts) host.Dispose();
        Etcd.Dispose();
        return ValueTask.CompletedTask;
    }
}
