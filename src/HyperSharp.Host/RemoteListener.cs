using System.Net;
using System.Security.Cryptography.X509Certificates;
using HyperSharp.Api.Tls;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace HyperSharp.Host;

/// <summary>
/// The API over TCP for remote management (and, later, cluster peers): HTTP/2 with mutual TLS. The host shows
/// host.crt; a client must show a certificate our own authority (ca.crt) signed for client use, or the
/// handshake fails before any request is read. The Unix socket stays the local way in.
/// </summary>
internal static class RemoteListener
{
    public static void Listen(KestrelServerOptions kestrel, IPEndPoint endpoint, string? tlsDirectory)
    {
        kestrel.Listen(endpoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            UseMutualTls(listen, tlsDirectory);
        });
    }

    /// <summary>
    /// HTTPS on <paramref name="listen"/> with the host's certificate, requiring a client certificate our authority signed
    /// for client use (the API's listener, and the web console's with the host's TLS).
    /// </summary>
    internal static void UseMutualTls(ListenOptions listen, string? tlsDirectory)
    {
        if (string.IsNullOrEmpty(tlsDirectory)) throw new ArgumentException("a TLS listener needs the directory of the host's trust files (--tls-dir)");
        var files = new TlsFiles(tlsDirectory);
        var authority = files.LoadAuthority();
        var certificate = files.LoadHost();
        listen.UseHttps(https =>
        {
            https.ServerCertificate = certificate;
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            // Only our authority counts, whatever the system trusts; the chain is built here, not by the OS defaults.
            https.ClientCertificateValidation = (client, _, _) => TlsTrust.IsTrustedClient(client, authority);
        });
    }
}
