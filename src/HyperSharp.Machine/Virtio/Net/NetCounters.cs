namespace HyperSharp.Machine.Virtio.Net;

/// <summary>What a virtio-net adapter moved and dropped (Get-VMNetworkAdapter's statistics, tests).</summary>
public sealed class NetCounters
{
    private long _sent, _sentBytes, _received, _receivedBytes, _receiveDrops, _transmitErrors;

    public long SentFrames => Volatile.Read(ref _sent);
    public long SentBytes => Volatile.Read(ref _sentBytes);
    public long ReceivedFrames => Volatile.Read(ref _received);
    public long ReceivedBytes => Volatile.Read(ref _receivedBytes);

    /// <summary>Frames from the switch the guest had no room for.</summary>
    public long ReceiveDrops => Volatile.Read(ref _receiveDrops);

    /// <summary>Frames the guest sent that were malformed (bad header, bad checksum offsets, too large) or that the link refused.</summary>
    public long TransmitErrors => Volatile.Read(ref _transmitErrors);

    internal void CountSent(int bytes) { Interlocked.Increment(ref _sent); Interlocked.Add(ref _sentBytes, bytes); }
    internal void CountReceived(int bytes) { Interlocked.Increment(ref _received); Interlocked.Add(ref _receivedBytes, bytes); }
    internal void CountReceiveDrop() => Interlocked.Increment(ref _receiveDrops);
    internal void CountTransmitError() => Interlocked.Increment(ref _transmitErrors);
}
