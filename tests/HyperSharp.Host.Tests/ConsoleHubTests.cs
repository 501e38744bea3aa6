using System.Net.Sockets;
using System.Text;
using HyperSharp.Worker;

namespace HyperSharp.Host.Tests;

/// <summary>
/// The worker's console hub: a viewer attached when the worker ends gets what the guest wrote last and then a clean
/// end of stream (a guest's shutdown lines were lost when the worker exited between two polls).
/// </summary>
public class ConsoleHubTests
{
    [Fact]
    public async Task A_viewer_gets_the_guests_last_output_and_then_the_end_when_the_worker_stops()
    {
        for (int trial = 0; trial < 20; trial++)
        {
            var hub = new ConsoleHub();
            using var stopping = new CancellationTokenSource();
            var (worker, viewer) = Pair();
            using (worker)
            using (viewer)
            {
                var serving = hub.ServeAsync(worker, _ => Task.CompletedTask, stopping.Token);
                foreach (byte b in Encoding.ASCII.GetBytes("booting\n")) hub.Output(b);
                Assert.Equal("booting\n", await ReadAsync(viewer, 8));
                // The guest's last words, then the worker ends at once: no poll comes between.
                foreach (byte b in Encoding.ASCII.GetBytes($"reboot: Power down {trial}\n")) hub.Output(b);
                await stopping.CancelAsync();
                await serving.WaitAsync(TimeSpan.FromSeconds(10));
                Assert.Equal($"reboot: Power down {trial}\n", await ReadToEndAsync(viewer));
            }
        }
    }

    private static (Socket Worker, Socket Viewer) Pair()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hs-console-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var viewer = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        viewer.Connect(new UnixDomainSocketEndPoint(path));
        var worker = listener.Accept();
        File.Delete(path);
        return (worker, viewer);
    }

    private static async Task<string> ReadAsync(Socket socket, int bytes)
    {
        var buffer = new byte[bytes];
        int got = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (got < bytes)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None, timeout.Token);
            if (n == 0) break;
            got += n;
        }
        return Encoding.ASCII.GetString(buffer, 0, got);
    }

    /// <summary>Everything until the end of stream; a stream that does not end fails the test by its timeout.</summary>
    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var text = new StringBuilder();
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0) text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        return text.ToString();
    }
}
