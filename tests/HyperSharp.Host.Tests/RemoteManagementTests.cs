using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using HyperSharp.Api;
using HyperSharp.Api.Tls;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Remote management over TCP with mutual TLS: a client with the administrator certificate our authority
/// signed is served; a client without a certificate, or with one from another authority, is refused in the
/// handshake; a client does not accept a host its authority did not sign.
/// </summary>
public class RemoteManagementTests(ITestOutputHelper output)
{
    [Fact]
    public async Task OnlyClientsAndHostsOfTheSameAuthorityTalk()
    {
        string root = Path.Combine("/tmp", "hs-tls-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var trust = new TlsFiles(Path.Combine(root, "tls"));
            var stranger = new TlsFiles(Path.Combine(root, "other"));
            HostCertificates.Create(trust, ["localhost"], [IPAddress.Loopback]);
            HostCertificates.Create(stranger, ["localhost"], [IPAddress.Loopback]);
            using (var check = X509Certificate2.CreateFromPemFile(trust.HostCertificate, trust.HostKey)) Assert.True(check.HasPrivateKey);
            if (OperatingSystem.IsLinux()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(trust.ClientKey));
            Assert.Throws<IOException>(() => HostCertificates.Create(trust, ["localhost"], [])); // never replaces a trust in use

            int port = FreePort();
            string store = Directory.CreateDirectory(Path.Combine(root, "store")).FullName;
            await using var server = await HostServer.StartAsync(new HostServerOptions
            {
                InventoryRoot = Path.Combine(root, "inv"), SocketPath = Path.Combine(root, "host.sock"), WorkerCommand = HostFixture.WorkerCommand,
                TlsListen = new IPEndPoint(IPAddress.Loopback, port), TlsDirectory = trust.Directory, Log = output.WriteLine, StoragePaths = [store],
            });
            var address = new Uri($"https://127.0.0.1:{port}");

            using (var channel = HostEndpoint.ConnectRemote(address, trust))
            {
                var client = new VmHost.VmHostClient(channel);
                var info = await client.GetHostAsync(new GetHostRequest());
                Assert.Equal(Environment.MachineName, info.ComputerName);
                var vm = await client.CreateVmAsync(new CreateVmRequest { Name = "remote-made" });
                Assert.Contains((await client.ListVmsAsync(new ListVmsRequest())).Vms, v => v.Id == vm.Id);

                // A remote administrator has no local identity: only files under the host's storage paths, links resolved first.
                string inside = Path.Combine(store, "k.elf"), outside = Path.Combine(root, "k.elf"), sneaky = Path.Combine(store, "link.elf");
                File.WriteAllBytes(inside, TestGuests.Idle());
                File.WriteAllBytes(outside, TestGuests.Idle());
                File.CreateSymbolicLink(sneaky, outside);
                Assert.Equal(inside, (await client.UpdateVmAsync(new UpdateVmRequest { Vm = new VmRef { Name = "remote-made" }, KernelPath = inside })).Boot.KernelPath);
                foreach (var path in new[] { outside, sneaky, "/etc/passwd" })
                {
                    var denied = await Assert.ThrowsAsync<RpcException>(() => client.UpdateVmAsync(new UpdateVmRequest { Vm = new VmRef { Name = "remote-made" }, KernelPath = path }).ResponseAsync);
                    output.WriteLine(denied.Status.Detail);
                    Assert.Equal((StatusCode.PermissionDenied, true), (denied.StatusCode, denied.Status.Detail.Contains(store)));
                }
            }

            // Another authority's administrator: refused, and that client does not trust this host either.
            using (var channel = HostEndpoint.ConnectRemote(address, stranger))
            {
                var refused = await Assert.ThrowsAsync<RpcException>(() => new VmHost.VmHostClient(channel).CreateVmAsync(new CreateVmRequest { Name = "intruder-1" }).ResponseAsync);
                output.WriteLine($"other authority: {refused.Status}");
                AssertRefusedInTheHandshake(refused);
            }

            // A client that trusts the host but shows no certificate: the handshake fails.
            var authority = X509Certificate2.CreateFromPem(File.ReadAllText(trust.AuthorityCertificate));
            var anonymous = new SocketsHttpHandler();
            anonymous.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => TlsTrust.IsTrustedHost(certificate as X509Certificate2, authority);
            using (var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = anonymous }))
            {
                var refused = await Assert.ThrowsAsync<RpcException>(() => new VmHost.VmHostClient(channel).CreateVmAsync(new CreateVmRequest { Name = "intruder-2" }).ResponseAsync);
                output.WriteLine($"no client certificate: {refused.Status}");
                AssertRefusedInTheHandshake(refused);
            }
            // Whichever way each client saw the refusal, neither request reached the service.
            using (var channel = HostEndpoint.ConnectRemote(address, trust))
                Assert.Empty((await new VmHost.VmHostClient(channel).ListVmsAsync(new ListVmsRequest { Name = "intruder-*" })).Vms);

            // The same administrator through the environment, as the CLI and the cmdlets find a remote host.
            Environment.SetEnvironmentVariable(HostEndpoint.AddressEnvironmentVariable, address.ToString());
            Environment.SetEnvironmentVariable(HostEndpoint.TlsDirectoryEnvironmentVariable, trust.Directory);
            try
            {
                using var channel = HostEndpoint.Connect();
                Assert.Single((await new VmHost.VmHostClient(channel).ListVmsAsync(new ListVmsRequest { Name = "remote-*" })).Vms);
            }
            finally
            {
                Environment.SetEnvironmentVariable(HostEndpoint.AddressEnvironmentVariable, null);
                Environment.SetEnvironmentVariable(HostEndpoint.TlsDirectoryEnvironmentVariable, null);
            }
        }
        finally { Directory.Delete(root, true); }
    }

    /// <summary>
    /// The connection failed before any gRPC answer (gRPC reports it as Internal or Unavailable). With TLS 1.3 the server
    /// refuses a client certificate after the client has finished its side of the handshake, so on a loaded machine the
    /// client may first notice when the HTTP/2 preface goes unanswered: an HTTP-level failure counts as well.
    /// </summary>
    private static void AssertRefusedInTheHandshake(RpcException e)
    {
        Assert.Contains(e.StatusCode, new[] { StatusCode.Internal, StatusCode.Unavailable });
        for (Exception? inner = e.Status.DebugException; inner != null; inner = inner.InnerException)
            if (inner is System.Security.Authentication.AuthenticationException or IOException or HttpRequestException) return;
        Assert.Fail($"expected a failed TLS handshake, got {e.Status}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
