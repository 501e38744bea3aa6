using System.Net;
using System.Net.Sockets;
using HyperSharp.Api;
using HyperSharp.Api.Tls;
using HyperSharp.Api.V1;
using HyperSharp.Host;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// -ComputerName to a remote host, as a Hyper-V administrator manages another server: the cmdlets reach it
/// over mutual TLS with the trust files `hyper host certs` made (HYPERSHARP_TLS_DIR, HYPERSHARP_HOST_PORT).
/// The "remote" host listens on 127.0.0.2, a loopback address that is not one of this computer's names.
/// </summary>
public sealed class RemoteCmdletTests
{
    [Fact]
    public async Task ComputerName_reaches_a_remote_host_over_mutual_TLS()
    {
        string root = Directory.CreateDirectory(Path.Combine("/tmp", "hs-psr-" + Guid.NewGuid().ToString("N")[..10])).FullName;
        var remote = IPAddress.Parse("127.0.0.2");
        try
        {
            var trust = new TlsFiles(Path.Combine(root, "tls"));
            HostCertificates.Create(trust, ["far-host"], [remote]);
            int port = FreePort(remote);
            string socket = Path.Combine(root, "host.sock");
            await using var server = await HostServer.StartAsync(new HostServerOptions
            {
                InventoryRoot = Path.Combine(root, "vms"), SocketPath = socket,
                WorkerCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "hyper.dll")],
                TlsListen = new IPEndPoint(remote, port), TlsDirectory = trust.Directory,
            });
            Environment.SetEnvironmentVariable(HostEndpoint.TlsDirectoryEnvironmentVariable, trust.Directory);
            Environment.SetEnvironmentVariable("HYPERSHARP_HOST_PORT", port.ToString());
            try
            {
                // This session's own socket does not exist: everything it sees comes from the remote host.
                using var ps = new PsSession(Path.Combine(root, "no-such.sock"), root);
                var result = await ps.RunAsync("""
                    New-VM -ComputerName 127.0.0.2 -Name far01 -MemoryStartupBytes 64MB | Out-Null
                    (Get-VM -ComputerName 127.0.0.2 -Name far*).Name
                    (Get-VMHost -ComputerName 127.0.0.2).LogicalProcessorCount -gt 0
                    """);
                Assert.Empty(result.Errors);
                Assert.Equal(["far01", true], result.Ok().Select(o => o.BaseObject));

                // The VM is in that host's inventory (seen through its local socket).
                using (var channel = HostEndpoint.Connect(socket))
                    Assert.Single((await new VmHost.VmHostClient(channel).ListVmsAsync(new ListVmsRequest { Name = "far01" })).Vms);

                // Two computers at once is refused with a clear reason.
                var two = Assert.Single((await ps.RunAsync("Get-VM -ComputerName 127.0.0.2, 127.0.0.3")).Errors);
                Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, two.CategoryInfo.Category);
            }
            finally
            {
                Environment.SetEnvironmentVariable(HostEndpoint.TlsDirectoryEnvironmentVariable, null);
                Environment.SetEnvironmentVariable("HYPERSHARP_HOST_PORT", null);
            }
        }
        finally { Directory.Delete(root, true); }
    }

    private static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
