using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using HyperSharp.Api;
using HyperSharp.Api.Tls;
using HyperSharp.Api.V1;
using HyperSharp.Host;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// Move-VM and Compare-VM as an administrator types them: a running VM (a guest idling in HLT, Emulated backend) moves from
/// this session's host to a second host on 127.0.0.2 (mutual TLS, one authority, shared storage).
/// </summary>
public sealed class MoveVmCmdletTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_admin_moves_a_running_VM_to_another_host()
    {
        string root = Directory.CreateDirectory(Path.Combine("/tmp", "hs-psm-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var servers = new List<HostServer>();
        try
        {
            var trust = new TlsFiles(Path.Combine(root, "tls"));
            HostCertificates.Create(trust, ["localhost"], [IPAddress.Loopback, IPAddress.Parse("127.0.0.2")]);
            async Task<(string Socket, string Address)> Start(string name, IPAddress ip)
            {
                int port = FreePort(ip);
                string socket = Path.Combine(root, name + ".sock");
                servers.Add(await HostServer.StartAsync(new HostServerOptions
                {
                    InventoryRoot = Path.Combine(root, name), SocketPath = socket, WorkerCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "hyper.dll")],
                    TlsListen = new IPEndPoint(ip, port), TlsDirectory = trust.Directory,
                    Log = line => { try { output.WriteLine($"{name}: {line}"); } catch (InvalidOperationException) { } },
                }));
                return (socket, $"{ip}:{port}");
            }
            var a = await Start("a", IPAddress.Loopback);
            var b = await Start("b", IPAddress.Parse("127.0.0.2"));
            using (var channel = HostEndpoint.Connect(b.Socket))
                await new VmHost.VmHostClient(channel).LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationEnabled = true });
            string kernel = Path.Combine(root, "idle.elf");
            File.WriteAllBytes(kernel, HyperSharp.Machine.Boot.ElfBuilder.Wrap([0xFB, 0xF4, 0xEB, 0xFC], 0x100000));

            using var ps = new PsSession(a.Socket, root);
            var before = await ps.RunAsync($$"""
                New-VM -Name web01 -MemoryStartupBytes 64MB -KernelPath '{{kernel}}' -Backend emulated | Start-VM
                (Compare-VM -Name web01 -DestinationHost {{b.Address}}).Incompatibilities.Message
                """);
            Assert.Contains("disabled on this host", string.Join("\n", before.Ok().Select(o => o.BaseObject)));

            var clock = Stopwatch.StartNew();
            var moved = await ps.RunAsync($$"""
                Enable-VMMigration
                (Compare-VM web01 {{b.Address}}).Incompatibilities.Count
                Move-VM -Name web01 -DestinationHost {{b.Address}} -Passthru
                (Get-VM).Count
                """);
            output.WriteLine($"Compare-VM and Move-VM through PowerShell: {clock.ElapsedMilliseconds} ms");
            var results = moved.Ok().Select(o => o.BaseObject).ToList();
            Assert.Equal(0, results[0]);
            var vm = (VirtualMachine)results[1];
            Assert.Equal(("web01", VMState.Running), (vm.Name, vm.State));
            Assert.Equal(0, results[2]); // gone from this host

            using (var channel = HostEndpoint.Connect(b.Socket))
            {
                var there = Assert.Single((await new VmHost.VmHostClient(channel).ListVmsAsync(new ListVmsRequest())).Vms);
                Assert.Equal(("web01", Api.V1.VmState.Running), (there.Name, there.State));
                await new VmHost.VmHostClient(channel).StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "web01" }, TurnOff = true });
            }
        }
        finally
        {
            foreach (var server in servers) await server.DisposeAsync();
            Directory.Delete(root, true);
        }
    }

    private static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
