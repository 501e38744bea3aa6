using System.Buffers.Binary;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;

namespace HyperSharp.Networking.Switching;

/// <summary>
/// A learning Ethernet switch: ports, a MAC table per VLAN with aging, flooding of broadcast,
/// multicast and unknown unicast, and per-port policies (spoofing protection, DHCP and router
/// guard, access VLANs, bandwidth). Frames are forwarded on the thread that delivered them, with
/// no allocation per frame; a frame is copied only to add or remove a VLAN tag. Hostile input —
/// runts, oversized or malformed frames, floods of addresses — is counted and dropped.
/// The switch owns the links of its ports and disposes them when a port is removed.
/// </summary>
public sealed class VirtualSwitch : IDisposable
{
    [ThreadStatic] private static byte[]? t_scratch;
    [ThreadStatic] private static int t_depth;
    private const int MaxDepth = 4; // an in-process receiver that answers from inside Receive re-enters; a loop must not recurse forever
    private readonly MacTable _table;
    private readonly object _portsLock = new();
    private volatile SwitchPort[] _ports = [];

    public VirtualSwitch(string name, SwitchType type, SwitchOptions? options = null)
    {
        options ??= new SwitchOptions();
        Name = name;
        Type = type;
        Time = options.Time;
        _table = new MacTable(options.MaxMacEntries, options.MacAgingTime, options.Time);
    }

    public string Name { get; }

    public SwitchType Type { get; }

    internal TimeProvider Time { get; }

    public IReadOnlyList<SwitchPort> Ports => _ports;

    /// <summary>Learned addresses right now (aged entries may linger until swept).</summary>
    public int LearnedAddresses => _table.Count;

    /// <summary>Connects <paramref name="link"/> as a new port and starts taking its frames.</summary>
    public SwitchPort AddPort(string name, IFrameLink link, PortSettings settings)
    {
        settings.Validate();
        lock (_portsLock)
        {
            if (_ports.Any(p => p.Name == name)) throw new ArgumentException($"switch {Name} already has a port named {name}");
            if (settings.Role == PortRole.Uplink && Type != SwitchType.External) throw new ArgumentException($"only an External switch has an uplink port; {Name} is {Type}");
            if (settings.Role == PortRole.Host && Type == SwitchType.Private) throw new ArgumentException($"a Private switch has no host port; {Name} is Private");
            if (settings.Role != PortRole.VirtualMachine && _ports.Any(p => p.Settings.Role == settings.Role)) throw new ArgumentException($"switch {Name} already has a {settings.Role} port");
            var port = new SwitchPort(this, name, link, settings);
            _ports = [.. _ports, port];
            link.Start(port);
            return port;
        }
    }

    /// <summary>Disconnects a port: its link is closed and what was learned on it forgotten.</summary>
    public void RemovePort(SwitchPort port)
    {
        lock (_portsLock)
        {
            if (port.IsRemoved) return;
            port.IsRemoved = true;
            _ports = _ports.Where(p => p != port).ToArray();
        }
        port.Link.Dispose();
        _table.Forget(port);
    }

    /// <summary>Where the switch would send unicast to <paramref name="mac"/> on <paramref name="vlan"/> (null: flooded).</summary>
    public SwitchPort? Lookup(MacAddress mac, ushort vlan = 0) => _table.Find(vlan, mac.Value);

    internal void Forward(SwitchPort from, ReadOnlySpan<byte> frame)
    {
        from.Counters.CountReceived(frame.Length);
        if (from.IsRemoved) return;
        if (!EthernetHeader.TryParse(frame, out var header) || header.Source.IsMulticast) { from.Counters.CountDrop(DropReason.Malformed); return; }
        var settings = from.Settings;
        if (settings.Role == PortRole.VirtualMachine && Refused(from, settings, header, frame) is { } reason) { from.Counters.CountDrop(reason); return; }
        ushort vlan;
        if (settings.Role == PortRole.Uplink) vlan = header.Tagged ? header.VlanId : (ushort)0;
        else if (header.Tagged) { from.Counters.CountDrop(DropReason.Vlan); return; } // access ports take untagged frames only
        else vlan = settings.VlanId;

        bool unicast = !header.Destination.IsMulticast;
        var target = _table.LearnAndLookup(MacTable.Key(vlan, header.Source.Value), from, MacTable.Key(vlan, header.Destination.Value), unicast);
        if (++t_depth > MaxDepth) { t_depth--; from.Counters.CountDrop(DropReason.Congested); return; }
        try
        {
            if (target is not null)
            {
                if (target != from && target.Carries(vlan)) Egress(target, frame, header, vlan);
                return;
            }
            foreach (var port in _ports)
                if (port != from && port.Carries(vlan)) Egress(port, frame, header, vlan);
        }
        finally { t_depth--; }
    }

    /// <summary>The policies of a VM port, in Hyper-V's order: bandwidth, spoofing, guards.</summary>
    private static DropReason? Refused(SwitchPort from, PortSettings s, in EthernetHeader header, ReadOnlySpan<byte> frame)
    {
        if (from.Bucket is { } bucket && !bucket.TryTake(frame.Length)) return DropReason.Bandwidth;
        if (!s.MacAddressSpoofing && s.MacAddress is { } own && header.Source != own) return DropReason.Spoofing;
        if (s.DhcpGuard || s.RouterGuard)
        {
            var kind = GuardedTraffic.Inspect(header.EtherType, frame[header.PayloadOffset..]);
            if (s.DhcpGuard && kind is GuardedKind.DhcpServer or GuardedKind.Evasive) return DropReason.DhcpGuard;
            if (s.RouterGuard && kind is GuardedKind.RouterMessage or GuardedKind.Evasive) return DropReason.RouterGuard;
        }
        return null;
    }

    /// <summary>Sends a frame out of a port, tagged for an uplink when it belongs to a VLAN, untagged for an access port.</summary>
    private static void Egress(SwitchPort to, ReadOnlySpan<byte> frame, in EthernetHeader header, ushort vlan)
    {
        bool wantTag = to.Settings.Role == PortRole.Uplink && vlan != 0;
        ReadOnlySpan<byte> wire = frame;
        if (wantTag != header.Tagged || (wantTag && header.VlanId != vlan))
        {
            var scratch = t_depth == 1 ? t_scratch ??= new byte[EthernetHeader.MaxFrameLength + EthernetHeader.TagLength] : new byte[frame.Length + EthernetHeader.TagLength];
            var payload = frame[(header.PayloadOffset - 2)..]; // EtherType onwards
            frame[..12].CopyTo(scratch);
            int at = 12;
            if (wantTag)
            {
                BinaryPrimitives.WriteUInt16BigEndian(scratch.AsSpan(12), EthernetHeader.EtherTypeVlan);
                BinaryPrimitives.WriteUInt16BigEndian(scratch.AsSpan(14), vlan);
                at = 16;
            }
            payload.CopyTo(scratch.AsSpan(at));
            wire = scratch.AsSpan(0, at + payload.Length);
        }
        if (to.Link.Send(wire)) to.Counters.CountSent(wire.Length);
        else to.Counters.CountDrop(DropReason.Congested);
    }

    public void Dispose()
    {
        foreach (var port in _ports) RemovePort(port);
    }
}
