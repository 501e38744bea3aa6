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

    void IFrameReceiver.Receive(ReadOnlySpan<byte> frame) { lock (_received) _received.Add(frame.ToArray()); }
}

/// <summary>A clock the test moves by hand (aging, bandwidth).</summary>
public sealed class ManualTime : TimeProvider
{
    private long _ticks = 1_000_000;
    public override long TimestampFrequency => 1_000_000;
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, (long)(by.TotalSeconds * TimestampFrequency));
}
