using System.Threading.Channels;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>
/// The host's event feed (WatchEvents and the web console read it): every published event goes to every watcher's own bounded queue.
/// A watcher that does not keep up loses its oldest events, never blocks the host.
/// </summary>
public sealed class EventFeed
{
    private const int QueueLength = 1024;
    private readonly object _lock = new();
    private readonly List<Channel<VmChange>> _watchers = [];

    public void Publish(VmChange e)
    {
        lock (_lock) foreach (var w in _watchers) w.Writer.TryWrite(e);
    }

    /// <summary>Registers a watcher now (events from this moment on are kept for it); dispose to leave.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<VmChange>(new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock) _watchers.Add(channel);
        return new Subscription(this, channel);
    }

    public sealed class Subscription(EventFeed feed, Channel<VmChange> channel) : IDisposable
    {
        public IAsyncEnumerable<VmChange> ReadAllAsync(CancellationToken cancellationToken) => channel.Reader.ReadAllAsync(cancellationToken);

        public void Dispose()
        {
            lock (feed._lock) feed._watchers.Remove(channel);
        }
    }
}
