using Grpc.Core;
using Grpc.Net.Client;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// A host service on a scratch inventory and socket, and a client for it. The host runs in this process
/// (or, restarted, again in this process); its workers are real `hyper worker` processes, each killed by
/// its PID when the test ends (they are detached and would outlive the test otherwise).
/// </summary>
public sealed class HostFixture : IAsyncDisposable
{
    private readonly ITestOutputHelper _output;
    private GrpcChannel? _channel;

    private HostFixture(ITestOutputHelper output)
    {
        _output = output;
        // Short paths: a Unix socket path must fit in 108 bytes, and workers' sockets live in VM folders under this root.
        Root = Path.Combine("/tmp", "hs-host-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Root);
        SocketPath = Path.Combine(Root, "host.sock");
    }

    public string Root { get; }
    /// <summary>Every line the in-process host logged, in order (what it did that the API does not show).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> HostLog { get; } = new();
    public string SocketPath { get; }
    public HostServer? Server { get; private set; }
    public VmHost.VmHostClient Client { get; private set; } = null!;

    /// <summary>How the host launches `hyper worker`: the CLI built beside these tests.</summary>
    public static IReadOnlyList<string> WorkerCommand => ["dotnet", Path.Combine(AppContext.BaseDirectory, "hyper.dll")];

    /// <param name="configure">changes to the host's options (the inventory, socket and worker command are the fixture's)</param>
    public static async Task<HostFixture> StartAsync(ITestOutputHelper output, Func<HostServerOptions, HostServerOptions>? configure = null)
    {
        var fixture = new HostFixture(output) { _configure = configure ?? (o => o) };
        await fixture.StartHostAsync();
        return fixture;
    }

    private Func<HostServerOptions, HostServerOptions> _configure = o => o;

    public async Task StartHostAsync()
    {
        Server = await HostServer.StartAsync(_configure(new HostServerOptions
        {
            InventoryRoot = Root, SocketPath = SocketPath, WorkerCommand = WorkerCommand,
            Log = line => { HostLog.Enqueue(line); try { _output.WriteLine($"host: {line}"); } catch (InvalidOperationException) { } },
        }));
        Connect();
    }

    /// <summary>Stops the host as if it went away: its workers keep running.</summary>
    public async Task StopHostAsync()
    {
        _channel?.Dispose();
        _channel = null;
        if (Server is not null) await Server.DisposeAsync();
        Server = null;
    }

    public void Connect()
    {
        _channel?.Dispose();
        _channel = HostEndpoint.Connect(SocketPath);
        Client = new VmHost.VmHostClient(_channel);
    }

    /// <summary>Writes a guest image into the scratch root and returns its path.</summary>
    public string Guest(string name, byte[] image)
    {
        string path = Path.Combine(Root, name);
        File.WriteAllBytes(path, image);
        return path;
    }

    public Task<Vm> CreateAsync(string name, string kernel, long memory = 64L << 20) =>
        Client.CreateVmAsync(new CreateVmRequest { Name = name, Boot = new BootSource { KernelPath = kernel }, MemoryStartupBytes = memory, Backend = "emulated" }).ResponseAsync;

    /// <summary>Reads the VM's console through the API until <paramref name="done"/> says enough (or the timeout).</summary>
    public Task<string> ReadConsoleAsync(string vmName, Func<string, bool> done, TimeSpan timeout, byte[]? input = null) =>
        GuestConsole.ReadAsync(Client, vmName, done, timeout, input);

    /// <summary>The PIDs of every live worker running a VM under this fixture's root.</summary>
    public List<int> Workers() => ProcessProbe.FindWorkers().Where(w => w.Key.StartsWith(Root + "/", StringComparison.Ordinal)).Select(w => w.Value).ToList();

    public async ValueTask DisposeAsync()
    {
        await StopHostAsync();
        foreach (int pid in Workers()) Posix.Signal(pid, Posix.SigKill);
        // The workers' own logs, for a test that failed on something a worker saw.
        foreach (var log in Directory.EnumerateFiles(Root, "worker.log", SearchOption.AllDirectories))
            try { _output.WriteLine($"--- {log}\n{File.ReadAllText(log)}"); } catch (InvalidOperationException) { }
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
