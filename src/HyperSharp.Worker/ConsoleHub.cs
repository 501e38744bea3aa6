using System.Net.Sockets;

namespace HyperSharp.Worker;

/// <summary>
/// The worker's serial console: every byte the guest writes goes into a ring (the backlog a new viewer
/// sees first), and each attached viewer follows the ring from its own position. Writing a byte costs a
/// store under a lock, whatever the number of viewers; a viewer that falls a whole ring behind skips ahead.
/// </summary>
public sealed class ConsoleHub
{
    public const int BacklogBytes = 64 * 1024;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    /// <summary>How long an ending worker gives a slow viewer to take the console's last bytes.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(1);
    private readonly byte[] _ring = new byte[BacklogBytes];
    private long _written;
    private readonly object _lock = new();

    public void Output(byte b)
    {
        lock (_lock)
        {
            _ring[_written % BacklogBytes] = b;
            _written++;
        }
    }

    /// <summary>Copies what was written from <paramref name="position"/> on (at most a ring) into <paramref name="buffer"/>; advances the position.</summary>
    public int Read(ref long position, byte[] buffer)
    {
        lock (_lock)
        {
            if (position < _written - BacklogBytes) position = _written - BacklogBytes;
            int n = (int)Math.Min(buffer.Length, _written - position);
            for (int i = 0; i < n; i++) buffer[i] = _ring[(position + i) % BacklogBytes];
            position += n;
            return n;
        }
    }

    /// <summary>Serves one viewer on <paramref name="socket"/>: backlog and live output out, input bytes to <paramref name="input"/>, until it disconnects.</summary>
    public async Task ServeAsync(Socket socket, Func<ReadOnlyMemory<byte>, Task> input, CancellationToken stopping)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[1024];
            try
            {
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, done.Token).ConfigureAwait(false)) > 0)
                    await input(buffer.AsMemory(0, n)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException) { }
            finally { await done.CancelAsync().ConfigureAwait(false); }
        });
        var chunk = new byte[4096];
        long position = 0;
        try
        {
            while (!done.IsCancellationRequested)
            {
                int n = Read(ref position, chunk);
                if (n == 0) { await Task.Delay(PollInterval, done.Token).ConfigureAwait(false); continue; }
                await socket.SendAsync(chunk.AsMemory(0, n), SocketFlags.None, done.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException) { }
        bool viewerLeft = reader.IsCompleted && !stopping.IsCancellationRequested;
        await done.CancelAsync().ConfigureAwait(false);
        await reader.ConfigureAwait(false);
        if (!viewerLeft) await DrainAsync(socket, position, chunk).ConfigureAwait(false);
    }

    /// <summary>
    /// The worker is ending with the viewer still attached: what the guest wrote last (its shutdown lines) goes out
    /// before the end of the stream, so the viewer sees the guest's last words and then a clean end, not a cut.
    /// </summary>
    private async Task DrainAsync(Socket socket, long position, byte[] chunk)
    {
        using var timeout = new CancellationTokenSource(DrainTimeout);
        try
        {
            int n;
            while ((n = Read(ref position, chunk)) > 0)
                await socket.SendAsync(chunk.AsMemory(0, n), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException) { }
    }
}
