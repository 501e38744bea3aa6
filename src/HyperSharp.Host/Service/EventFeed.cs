using System.Threading.Channels;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service;

/// <summary>
/// The server-streaming event feed: every published event goes to every watcher's own bounded queue.
/// A watcher that does not keep up loses its oldest events, never blocks the host.
/// </summary>
public sealed class EventFeed
{
    private const int QueueLength = 1024;
    private readonly object _lock = new();
    private readonly List<Channel<VmEvent>> _watchers = [];

    public void Publish(VmEvent e)
    {
        if (e.TimeUnixMs == 0) e.TimeUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        lock (_lock) foreach (var w in _watchers) w.Writer.TryWrite(e);
    }

    /// <summary>Registers a watcher now (events from this moment on are kept for it); dispose to leave.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<VmEvent>(new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock) _watchers.Add(channel);
        return new Subscription(this, channel);
    }

    public sealed class Subscription(EventFeed feed, Channel<VmEvent> channel) : IDisposable
    {
        public IAsyncEnumerable<VmEvent> ReadAllAsync(CancellationToken cancellationToken) => channel.Reader.ReadAllAsync(cancellationToken);

        public void Dispose()
        {
            lock (feed._lock) feed._watchers.Remove(channel);
        }
    }
}
