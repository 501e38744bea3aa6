using HyperSharp.Host;

namespace HyperSharp.PowerShell.Tests;

/// <summary>A real host service, in-process, on a socket and inventory in a fresh temporary folder; removed afterwards.</summary>
public sealed class TestHost : IAsyncLifetime
{
    private HostServer? _server;

    public string Root { get; } = Directory.CreateTempSubdirectory("hypersharp-ps-").FullName;

    public string SocketPath => Path.Combine(Root, "host.sock");

    /// <summary>A folder for the test's disk files.</summary>
    public string Disks => Directory.CreateDirectory(Path.Combine(Root, "disks")).FullName;

    public async Task InitializeAsync() =>
        _server = await HostServer.StartAsync(new HostServerOptions { InventoryRoot = Path.Combine(Root, "vms"), SocketPath = SocketPath });

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }
}
