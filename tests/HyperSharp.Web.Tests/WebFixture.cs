using System.Net;
using HyperSharp.Host;
using HyperSharp.Inventory.Platform;
using Xunit.Abstractions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// An in-process host on a scratch inventory and its web console on a free loopback port. The host's workers are
/// real `hyper worker` processes, each killed by its PID when the test ends (they are detached and would outlive it).
/// </summary>
public sealed class WebFixture : IAsyncDisposable
{
    private readonly ITestOutputHelper _output;

    private WebFixture(ITestOutputHelper output, HostServer server, WebConsole console, string root)
    {
        _output = output;
        Server = server;
        Console = console;
        Root = root;
    }

    public HostServer Server { get; }
    public WebConsole Console { get; }
    public string Root { get; }

    /// <param name="storagePaths">folders the console's users may name files in besides ROOT/vhds (the guest kit's)</param>
    public static Task<WebFixture> StartAsync(ITestOutputHelper output, params string[] storagePaths) => StartAsync(output, null, storagePaths);

    /// <param name="tls">a function of the scratch root that makes the host's trust files there and returns their folder: the console then serves HTTPS to client certificates</param>
    public static Task<WebFixture> StartAsync(ITestOutputHelper output, Func<string, string>? tls, params string[] storagePaths) =>
        StartAsync(output, (root, host) => host with { StoragePaths = [.. host.StoragePaths!, .. storagePaths] }, (root, web) => web with { TlsDirectory = tls?.Invoke(root) });

    /// <param name="host">changes to the host's options, given the scratch root (its trust files, its TLS address, more storage paths)</param>
    /// <param name="web">changes to the console's options, given the scratch root</param>
    public static async Task<WebFixture> StartAsync(ITestOutputHelper output, Func<string, HostServerOptions, HostServerOptions> host, Func<string, WebConsoleOptions, WebConsoleOptions> web)
    {
        // Short paths: a Unix socket path must fit in 108 bytes, and workers' sockets live in VM folders under this root.
        string root = Path.Combine("/tmp", "hs-web-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        void Log(string line) { try { output.WriteLine($"host: {line}"); } catch (InvalidOperationException) { } }
        var server = await HostServer.StartAsync(host(root, new HostServerOptions
        {
            InventoryRoot = root, SocketPath = Path.Combine(root, "host.sock"), Log = Log,
            WorkerCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "hyper.dll")],
            StoragePaths = [Path.Combine(root, "vhds"), root],
        }));
        var console = await WebConsole.StartAsync(web(root, new WebConsoleOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0), InventoryRoot = root, Log = Log,
        }), server);
        return new WebFixture(output, server, console, root);
    }

    public Uri Url(string path) => new(Console.Address, path);

    /// <summary>A VM (off) that boots the small idle guest on the Emulated backend with 64 MB: cheap to start and to look at.</summary>
    public async Task<Host.Service.ManagedVm> CreateIdleVmAsync(string name)
    {
        string kernel = Path.Combine(Root, "idle.elf");
        if (!File.Exists(kernel)) await File.WriteAllBytesAsync(kernel, Host.Tests.TestGuests.Idle());
        return Server.Manager.Configuration.Create(new Host.Service.Domain.NewVm(name) { KernelPath = kernel, MemoryStartupBytes = 64L << 20, Backend = "emulated" }, Host.Access.ClientIdentity.Root);
    }

    public async ValueTask DisposeAsync()
    {
        await Console.DisposeAsync();
        var workers = Server.Manager.List(null).Select(vm => vm.WorkerPid).Where(pid => pid > 0).ToList();
        await Server.DisposeAsync();
        foreach (int pid in workers) Posix.Signal(pid, Posix.SigKill);
        foreach (var log in Directory.EnumerateFiles(Root, "worker.log", SearchOption.AllDirectories))
            try { _output.WriteLine($"--- {log}\n{File.ReadAllText(log)}"); } catch (InvalidOperationException) { }
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
