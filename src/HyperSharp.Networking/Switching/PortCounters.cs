namespace HyperSharp.Networking.Switching;

/// <summary>Why the switch dropped a frame.</summary>
public enum DropReason { Malformed, Spoofing, Vlan, DhcpGuard, RouterGuard, Bandwidth, Congested, Count }

/// <summary>Frames and bytes a port took in and gave out, and its drops by reason; updated without locks.</summary>
public sealed class PortCounters
{
    private long _received, _receivedBytes, _sent, _sentBytes;
    private readonly long[] _dropped = new long[(int)DropReason.Count];

    public long ReceivedFrames => Volatile.Read(ref _received);
    public long ReceivedBytes => Volatile.Read(ref _receivedBytes);
    public long SentFrames => Volatile.Read(ref _sent);
    public long SentBytes => Volatile.Read(ref _sentBytes);

    public long Dropped(DropReason reason) => Volatile.Read(ref _dropped[(int)reason]);

    internal void CountReceived(int bytes) { Interlocked.Increment(ref _received); Interlocked.Add(ref _receivedBytes, bytes); }
    internal void CountSent(int bytes) { Interlocked.Increment(ref _sent); Interlocked.Add(ref _sentBytes, bytes); }
    internal void CountDrop(DropReason reason) => Interlocked.Increment(ref _dropped[(int)reason]);
}
