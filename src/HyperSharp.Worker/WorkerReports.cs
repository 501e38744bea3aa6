using System.Net.Sockets;
using System.Text;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Worker;

/// <summary>
/// The worker's report channel: the connection of the host that attached last. Reports are one JSON line each, written
/// whole under a lock; a host that has gone (its end closed) loses its channel, and the next host to attach gets one.
/// The channel is never closed here: the process's end closes it, which is how the host learns the worker has gone.
/// </summary>
internal sealed class WorkerReports
{
    private readonly object _lock = new();
    private Socket? _channel;

    /// <summary>Makes <paramref name="channel"/> the report channel, its first line <paramref name="first"/> (when there is one).</summary>
    public void Attach(Socket channel, WorkerReport? first)
    {
        lock (_lock)
        {
            _channel = channel;
            if (first is not null) Write(first);
        }
    }

    /// <summary>The host at the other end of <paramref name="channel"/> has gone: nothing more is reported there.</summary>
    public void Detach(Socket channel)
    {
        lock (_lock) if (_channel == channel) _channel = null;
    }

    public void Send(WorkerReport report)
    {
        lock (_lock) Write(report);
    }

    private void Write(WorkerReport report)
    {
        if (_channel is not { } channel) return;
        try
        {
            var line = Encoding.UTF8.GetBytes(WorkerJson.Line(report));
            for (int sent = 0; sent < line.Length;) sent += channel.Send(line, sent, line.Length - sent, SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            _channel = null; // the host went away; the VM runs on, and a host that comes back attaches again
        }
    }
}
