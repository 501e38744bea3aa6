using HyperSharp.Networking.Links;

namespace HyperSharp.Networking.Switching;

/// <summary>
/// One port of a <see cref="VirtualSwitch"/>: the switch's end of a link, its policies and counters.
/// Frames that arrive on the link enter the switch here; settings can change while frames flow.
/// </summary>
public sealed class SwitchPort : IFrameReceiver
{
    private readonly VirtualSwitch _switch;
    private volatile PortSettings _settings;
    private volatile TokenBucket? _bucket;

    internal SwitchPort(VirtualSwitch owner, string name, IFrameLink link, PortSettings settings)
    {
        _switch = owner;
        Name = name;
        Link = link;
        _settings = settings;
        _bucket = BucketFor(settings);
    }

    public string Name { get; }

    public IFrameLink Link { get; }

    public PortCounters Counters { get; } = new();

    public PortSettings Settings
    {
        get => _settings;
        set
        {
            value.Validate();
            if (value.Role != _settings.Role) throw new ArgumentException($"port {Name} is a {_settings.Role} port; its role cannot change");
            if (value.MaximumBandwidth != _settings.MaximumBandwidth) _bucket = BucketFor(value);
            _settings = value;
        }
    }

    internal TokenBucket? Bucket => _bucket;

    internal volatile bool IsRemoved;

    /// <summary>Whether frames of <paramref name="vlan"/> may leave through this port (an uplink trunks every VLAN).</summary>
    internal bool Carries(ushort vlan) => _settings.Role == PortRole.Uplink || _settings.VlanId == vlan;

    private TokenBucket? BucketFor(PortSettings s) => s.MaximumBandwidth > 0 ? new TokenBucket(s.MaximumBandwidth, _switch.Time) : null;

    void IFrameReceiver.Receive(ReadOnlySpan<byte> frame) => _switch.Forward(this, frame);

    public override string ToString() => $"{_switch.Name}/{Name}";
}
