using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using HyperSharp.Api.Tls;

namespace HyperSharp.Worker.Migration;

/// <summary>
/// The migration stream between two workers: TCP with mutual TLS on the hosts' trust files (the destination shows host.crt and
/// takes only a client certificate of the same authority; the source shows client.crt and takes only a host certificate of
/// that authority for the name it dialled), then one byte from the source: 1 when the stream is compressed, 0 when not.
/// </summary>
/// <remarks>
/// Worker to worker rather than through the hosts: the guest's memory crosses the link once, with no relay copying it through
/// two more processes, and a host restarting during a move does not cut it. The hosts agree on the handover over their own
/// API (prepare, then finish), and each learns the outcome from its worker.
/// </remarks>
internal static class MigrationLink
{
    /// <summary>The source's side: dials the destination worker and authenticates both ends.</summary>
    public static async Task<Stream> ConnectAsync(string host, int port, TlsFiles trust, bool compress, CancellationToken cancel)
    {
        var authority = trust.LoadAuthority();
        var client = trust.LoadClient();
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, cancel).ConfigureAwait(false);
            var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                ClientCertificates = [client],
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => TlsTrust.AcceptsHost(certificate, errors, authority),
            }, cancel).ConfigureAwait(false);
            tls.WriteByte(compress ? (byte)1 : (byte)0);
            tls.Flush();
            return compress ? new CompressedDuplexStream(tls) : tls;
        }
        catch (AuthenticationException e)
        {
            tcp.Dispose();
            throw new IOException($"the destination worker at {host}:{port} is not trusted, or does not trust this host (mutual TLS with {trust.Directory}): {e.Message}", e);
        }
        catch (SocketException e)
        {
            tcp.Dispose();
            throw new IOException($"cannot reach the destination worker at {host}:{port}: {e.Message}", e);
        }
    }
}

/// <summary>The destination's side: a TCP port on the host's migration address where the source worker is awaited.</summary>
internal sealed class MigrationListener : IDisposable
{
    private readonly TcpListener _listener;
    private readonly TlsFiles _trust;

    private MigrationListener(TcpListener listener, TlsFiles trust) => (_listener, _trust) = (listener, trust);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static MigrationListener Open(string address, string tlsDirectory)
    {
        var trust = new TlsFiles(tlsDirectory);
        trust.Require(trust.AuthorityCertificate, trust.HostCertificate, trust.HostKey);
        if (!IPAddress.TryParse(address, out var ip)) throw new ArgumentException($"{address} is not an IP address to listen on for the migration");
        var listener = new TcpListener(ip, 0);
        listener.Start(1);
        return new MigrationListener(listener, trust);
    }

    /// <summary>
    /// The source's stream, authenticated; a connection that fails the handshake (another authority, no certificate) is dropped
    /// and the next awaited, until <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<Stream> AcceptAsync(TimeSpan timeout)
    {
        var authority = _trust.LoadAuthority();
        var certificate = _trust.LoadHost();
        using var giveUp = new CancellationTokenSource(timeout);
        while (true)
        {
            TcpClient tcp;
            try { tcp = await _listener.AcceptTcpClientAsync(giveUp.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { throw new TimeoutException($"no source worker connected within {timeout.TotalSeconds:0} s: the migration was abandoned"); }
            tcp.NoDelay = true;
            var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            try
            {
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = certificate,
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = (_, client, _, _) => TlsTrust.IsTrustedClient(client as System.Security.Cryptography.X509Certificates.X509Certificate2, authority),
                }, giveUp.Token).ConfigureAwait(false);
                var mode = new byte[1];
                await tls.ReadExactlyAsync(mode, giveUp.Token).ConfigureAwait(false);
                return mode[0] == 1 ? new CompressedDuplexStream(tls) : tls;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                await tls.DisposeAsync().ConfigureAwait(false); // not our source: wait for the one that is
            }
            catch (OperationCanceledException) { await tls.DisposeAsync().ConfigureAwait(false); throw new TimeoutException($"no source worker connected within {timeout.TotalSeconds:0} s: the migration was abandoned"); }
        }
    }

    public void Dispose() => _listener.Stop();
}
