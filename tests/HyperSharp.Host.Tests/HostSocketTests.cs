using System.Net.Sockets;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// The API socket belongs to the host that bound it: a second host (another inventory, the same socket) refuses to
/// start while the first answers there, nobody unlinks a socket it does not own, and a stale one (nobody listening)
/// is replaced.
/// </summary>
public class HostSocketTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ASecondHostOnTheSameSocketRefusesToStartAndTheFirstKeepsServing()
    {
        await using var first = await HostFixture.StartAsync(output);
        string otherRoot = Scratch();
        try
        {
            var refused = await Assert.ThrowsAsync<IOException>(() => HostServer.StartAsync(Options(otherRoot, first.SocketPath)));
            output.WriteLine(refused.Message);
            Assert.Contains(first.SocketPath, refused.Message);
            Assert.Contains("already serving", refused.Message);
            Assert.NotNull(await first.Client.GetHostAsync(new GetHostRequest()));
            first.Connect(); // a new connection: the socket file is still the first host's
            Assert.NotNull(await first.Client.GetHostAsync(new GetHostRequest()));
        }
        finally { Directory.Delete(otherRoot, recursive: true); }
    }

    [Fact]
    public async Task AStaleSocketIsReplacedAndAFileThatIsNoSocketIsLeftAlone()
    {
        string root = Scratch();
        try
        {
            string socket = Path.Combine(root, "api.sock");
            // Bound, then closed without an unlink: what a killed host leaves (.NET's own Socket would unlink it on Dispose).
            new Microsoft.Win32.SafeHandles.SafeFileHandle((IntPtr)(long)HyperSharp.Host.Platform.UnixListener.Listen(socket), ownsHandle: true).Dispose();
            Assert.True(File.Exists(socket));
            await using (var host = await HostServer.StartAsync(Options(Path.Combine(root, "inv"), socket)))
                Assert.NotNull(host.Manager);

            string notASocket = Path.Combine(root, "file.sock");
            File.WriteAllText(notASocket, "keep me");
            var refused = await Assert.ThrowsAsync<IOException>(() => HostServer.StartAsync(Options(Path.Combine(root, "inv2"), notASocket)));
            output.WriteLine(refused.Message);
            Assert.Contains("not a socket", refused.Message);
            Assert.Equal("keep me", File.ReadAllText(notASocket));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public async Task AHostThatStopsLeavesASocketItNoLongerOwns()
    {
        string root = Scratch();
        try
        {
            string socket = Path.Combine(root, "api.sock");
            var host = await HostServer.StartAsync(Options(Path.Combine(root, "inv"), socket));
            File.Move(socket, socket + ".old");
            using var other = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            other.Bind(new UnixDomainSocketEndPoint(socket));
            other.Listen(1);
            await host.DisposeAsync();
            Assert.True(File.Exists(socket), "the host unlinked a socket another process had bound");
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    private static string Scratch() => Directory.CreateDirectory(Path.Combine("/tmp", "hs-sock-" + Guid.NewGuid().ToString("N")[..10])).FullName;

    private HostServerOptions Options(string root, string socket) => new()
    {
        InventoryRoot = root, SocketPath = socket, WorkerCommand = HostFixture.WorkerCommand, Log = line => { try { output.WriteLine($"host: {line}"); } catch (InvalidOperationException) { } },
    };
}
