using System.Net.Sockets;
using Grpc.Core;
using HyperSharp.Host.Access;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using Microsoft.AspNetCore.Connections.Features;

namespace HyperSharp.Host.Service;

/// <summary>
/// Who sent a call: a remote administrator by the certificate the TLS handshake verified; a local client by the
/// credentials the kernel recorded on its Unix socket connection (root is <see cref="ClientIdentity.Root"/>).
/// A call that shows neither is treated as remote with no certificate: it may name no path at all.
/// </summary>
internal static class ClientIdentities
{
    public static ClientIdentity Of(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        if (http.Connection.ClientCertificate is { } certificate) return new RemoteAdministrator(certificate.Subject);
        if (http.Features.Get<IConnectionSocketFeature>()?.Socket is { AddressFamily: AddressFamily.Unix } socket)
        {
            var credentials = PeerCredentials.Of(socket);
            return credentials.Uid == 0 ? ClientIdentity.Root : new LocalUser(credentials);
        }
        return new RemoteAdministrator("(unidentified connection)");
    }
}
