using System.Text.Json;
using Grpc.Core;
using HyperSharp.Api;
using HyperSharp.Api.Tls;
using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Migration;

/// <summary>
/// The destination host as the source host talks to it: its API over mutual TLS with this host's trust files (client.crt),
/// the calls a move needs, and its refusals as this host's errors naming the destination.
/// </summary>
internal sealed class PeerHost : IDisposable
{
    private static readonly TimeSpan PrepareTimeout = TimeSpan.FromSeconds(120);
    private readonly Grpc.Net.Client.GrpcChannel _channel;
    private readonly VmHost.VmHostClient _client;

    public PeerHost(string destination, TlsFiles trust)
    {
        Address = AddressOf(destination);
        Name = destination;
        _channel = HostEndpoint.ConnectRemote(Address, trust);
        _client = new VmHost.VmHostClient(_channel);
    }

    /// <summary>https://NAME:PORT of the destination's API.</summary>
    public Uri Address { get; }

    /// <summary>The destination as the administrator named it.</summary>
    public string Name { get; }

    /// <summary>NAME, NAME:PORT or https://NAME:PORT; the port defaults to 7443, as the cmdlets' -ComputerName does.</summary>
    public static Uri AddressOf(string destination)
    {
        if (string.IsNullOrWhiteSpace(destination)) throw HostErrors.Invalid("destination_host", "name the host to move the VM to");
        string text = destination.Contains("://", StringComparison.Ordinal) ? destination : "https://" + destination;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.AbsolutePath != "/")
            throw HostErrors.Invalid("destination_host", $"'{DisplayText.Escape(destination)}' is not a host: give NAME, NAME:PORT or https://NAME:PORT");
        return uri.IsDefaultPort && !text.Contains($":{uri.Port}", StringComparison.Ordinal) ? new UriBuilder(uri) { Port = DefaultPort }.Uri : uri;
    }

    public const int DefaultPort = 7443;

    /// <summary>The destination's checks (dry run: its list of problems) or its registration of the VM and the port its worker listens on.</summary>
    /// <param name="sharedFolder">the VM's folder on storage both hosts see (a clustered VM), or null</param>
    public async Task<(int Port, List<string> Problems)> PrepareAsync(VmConfiguration config, bool dryRun, CancellationToken cancel, string? sharedFolder = null)
    {
        var request = new PrepareMigrationRequest
        {
            ConfigurationJson = JsonSerializer.Serialize(config, typeof(VmConfiguration), InventoryJson.Default),
            SourceHost = Environment.MachineName, DryRun = dryRun, SharedFolder = sharedFolder ?? "",
        };
        var answer = await Call(c => _client.LiveMigration.PrepareMigrationAsync(request, deadline: DateTime.UtcNow + PrepareTimeout, cancellationToken: c).ResponseAsync, cancel).ConfigureAwait(false);
        return (answer.Port, [.. answer.Problems]);
    }

    /// <summary>Waits until the destination runs the VM it took; returns it as the destination shows it.</summary>
    public Task<Vm> FinishAsync(Guid id, CancellationToken cancel) =>
        Call(c => _client.LiveMigration.FinishMigrationAsync(new VmRef { Id = id.ToString("D") }, deadline: DateTime.UtcNow + PrepareTimeout, cancellationToken: c).ResponseAsync, cancel);

    private async Task<T> Call<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancel)
    {
        try { return await call(cancel).ConfigureAwait(false); }
        catch (RpcException e)
        {
            throw HostErrors.Precondition(e.Status.DebugException is { } transport ? Unreachable(transport) : $"the destination host {Name} refused: {e.Status.Detail}");
        }
    }

    /// <summary>Why the call never reached the destination's service: the TLS handshake (trust) or the connection.</summary>
    private string Unreachable(Exception transport)
    {
        for (var e = transport; e is not null; e = e.InnerException)
            if (e is System.Security.Authentication.AuthenticationException)
                return $"the destination host at {Address} and this host do not trust each other (mutual TLS: both need certificates of the same authority): {e.Message}";
        return $"cannot reach the destination host at {Address} over mutual TLS ({transport.Message}): is it running with --tls-listen?";
    }

    public void Dispose() => _channel.Dispose();
}
