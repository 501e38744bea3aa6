using HyperSharp.Host.Access;
using HyperSharp.Inventory;
using HyperSharp.Host.Service;
using HyperSharp.Host.Vhd;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HyperSharp.Host;

/// <summary>
/// The running host service: the gRPC API on a Unix socket over HTTP/2 (no TLS: the socket's
/// file permissions are the access control). `hyper host` runs one; tests start one in-process.
/// </summary>
public sealed class HostServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly IDisposable _inventoryLock;
    private readonly ApiSocketClaim _socket;
    private int _disposed;
    private readonly Cluster.HostCluster? _cluster;

    private HostServer(WebApplication app, HostServerOptions options, VmManager manager, Migration.VmMigrations migrations, IDisposable inventoryLock, ApiSocketClaim socket, Cluster.HostCluster? cluster)
    {
        Migrations = migrations;
        _cluster = cluster;
        _inventoryLock = inventoryLock;
        _socket = socket;
        _app = app;
        Options = options;
        Manager = manager;
    }

    public HostServerOptions Options { get; }

    /// <summary>The VMs this host manages (tests look inside; clients go through the API).</summary>
    public VmManager Manager { get; }

    /// <summary>Move-VM and Compare-VM of this host (the web console's Move uses the same object as the API).</summary>
    public Migration.VmMigrations Migrations { get; }

    /// <summary>Starts serving; returns once the socket accepts connections.</summary>
    public static async Task<HostServer> StartAsync(HostServerOptions options, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.InventoryRoot);
        InventoryPermissions.CheckRoot(Path.GetFullPath(options.InventoryRoot));
        var inventoryLock = InventoryLock.Take(options.InventoryRoot);
        ApiSocketClaim? socket = null;
        try
        {
            var socketDirectory = Path.GetDirectoryName(Path.GetFullPath(options.SocketPath));
            if (socketDirectory != null) Directory.CreateDirectory(socketDirectory);
            socket = ApiSocketClaim.Take(Path.GetFullPath(options.SocketPath));
            return await StartLockedAsync(options, inventoryLock, socket, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket?.Dispose();
            inventoryLock.Dispose();
            throw;
        }
    }

    private static async Task<HostServer> StartLockedAsync(HostServerOptions options, IDisposable inventoryLock, ApiSocketClaim socket, CancellationToken cancellationToken)
    {
        ulong listening = socket.Listen();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (options.TlsListen is not null) builder.WebHost.UseKestrelHttpsConfiguration(); // the slim builder leaves TLS out
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Bound here and handed over as a descriptor: the server then never unlinks the path itself (see ApiSocketClaim).
            kestrel.ListenHandle(listening, listen => listen.Protocols = HttpProtocols.Http2);
            if (options.TlsListen is { } endpoint) RemoteListener.Listen(kestrel, endpoint, options.TlsDirectory);
        });
        var access = new PathAccess(options.StoragePaths ?? [Path.Combine(Path.GetFullPath(options.InventoryRoot), "vhds")]);
        var manager = new VmManager(options.InventoryRoot, options.WorkerCommand ?? WorkerLauncher.CurrentHyper(), options.Log, access, options.AgentUpdateFolder, options.ActivationKeyFile);
        // The inventory and the workers that outlived the last host are known before the first request.
        manager.Recover();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(manager);
        builder.Services.AddSingleton(access);
        builder.Services.AddSingleton<IDiskAttachments>(new InventoryDiskAttachments(manager));
        var migrations = new Migration.VmMigrations(manager, options);
        builder.Services.AddSingleton(migrations);
        var cluster = options.Cluster is { } clustered ? Cluster.HostCluster.Start(clustered, manager, migrations, MigrationAddress(options), options.Log) : null;
        builder.Services.AddSingleton(new Cluster.ClusterAccess(cluster));
        builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<HostErrorInterceptor>());
        var app = builder.Build();
        MapServices(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        options.Log(SocketAccess.Restrict(options.SocketPath));
        manager.StartAutomatically();
        manager.StartBalancing(options.MemoryBalancer);
        return new HostServer(app, options, manager, migrations, inventoryLock, socket, cluster);
    }

    /// <summary>Where other cluster nodes reach this host's live migrations: its --tls-listen (this machine's name for a wildcard address).</summary>
    private static string? MigrationAddress(HostServerOptions options) => options.TlsListen is not { } endpoint ? null
        : endpoint.Address.Equals(System.Net.IPAddress.Any) || endpoint.Address.Equals(System.Net.IPAddress.IPv6Any) ? $"{Environment.MachineName}:{endpoint.Port}"
        : endpoint.ToString();

    /// <summary>The API services this host serves.</summary>
    private static void MapServices(WebApplication app)
    {
        app.MapGrpcService<VmHostService>();
        app.MapGrpcService<NetworkingService>();
        app.MapGrpcService<LiveMigrationService>();
        app.MapGrpcService<CheckpointsService>();
        app.MapGrpcService<GuestIntegrationService>();
        app.MapGrpcService<ScsiControllersService>();
        app.MapGrpcService<ExportsService>();
        app.MapGrpcService<VhdServiceImpl>();
        app.MapGrpcService<FailoverClusterService>();
        app.MapGrpcService<ClusterMaintenanceService>();
        app.MapGrpcService<GuestPowerShellService>();
    }

    /// <summary>
    /// The host is going down on purpose (`hyper host` on SIGTERM): a cluster node first hands its clustered VMs over
    /// (they are the cluster's, not this host's, to stop); then each running VM gets its automatic stop action.
    /// </summary>
    public async Task StopVmsAsync()
    {
        if (_cluster is not null) await _cluster.LeaveAsync().ConfigureAwait(false);
        await Manager.StopAutomaticallyAsync().ConfigureAwait(false);
    }

    /// <summary>Completes when the server stops (Ctrl-C / SIGTERM for `hyper host`).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops serving. Workers keep running: the next host finds them again. A second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_cluster is not null) await _cluster.DisposeAsync().ConfigureAwait(false);
        Manager.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        _inventoryLock.Dispose();
    }
}
