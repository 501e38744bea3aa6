using HyperSharp.Networking.Links;
using HyperSharp.Networking.Switching;

namespace HyperSharp.Networking.Tests;

/// <summary>A test's "adapter" on a switch port: sends frames in, records every frame that comes out.</summary>
public sealed class TestPort : IFrameReceiver
{
    private readonly InProcessLink _adapter;
    private readonly List<byte[]> _received = [];

    public TestPort(VirtualSwitch vs, string name, PortSettings? settings = null)
    {
        var (switchEnd, adapterEnd) = InProcessLink.CreatePair(name);
        _adapter = adapterEnd;
        _adapter.Start(this);
        Port = vs.AddPort(name, switchEnd, settings ?? new PortSettings());
    }

    public SwitchPort Port { get; }

    public void Send(byte[] frame) => _adapter.Send(frame);

    public List<byte[]> Received { get { lock (_received) return [.. _received]; } }

    public void Clear() { lock (_received) _received.Clear(); }

    /// <summary>Answers frames as they arrive (e.g. ARP requests), from the delivering thread.</summary>
    public Func<byte[], byte[]?>? Answer { get; set; }

    /// <summary>Waits until a received frame matches.</summary>
    public async Task<byte[]> WaitFor(Func<byte[], bool> match, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            var hit = Received.FirstOrDefault(match);
            if (hit is not null) return hit;
            await Task.Delay(10);
        }
        throw new TimeoutException("no matching frame arrived at the port");
    }

    void IFrameReceiver.Receive(ReadOnlySpan<byte> frame)
    {
        var copy = frame.ToArray();
        lock (_received) _received.Add(copy);
        if (Answer?.Invoke(copy) is { } reply) _adapter.Send(reply);
    }
}

/// <summary>A clock the test moves by hand (aging, bandwidth).</summary>
public sealed class ManualTime : TimeProvider
{
    private long _ticks = 1_000_000;
    public override long TimestampFrequency => 1_000_000;
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, (long)(by.TotalSeconds * TimestampFrequency));
}
