using System.Security.Cryptography;
using HyperSharp.Machine;
using HyperSharp.Machine.State;
using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;
using HyperSharp.Networking.Switching;

namespace HyperSharp.Cli.Vm;

/// <summary>
/// The switches of the embedded mode (`hyper vm run` with no host service): each `--nic
/// KIND:NAME[,mac=MAC]` plugs an adapter into an in-process switch — private:NAME, internal:TAP
/// (the host gets TAP interface TAP), external:IFACE (bridged to host interface IFACE) — created on
/// first use and gone, with its TAP, when the command ends. Without mac= the adapter gets a random
/// address in this host's range (there is no inventory to hand out the next one).
/// </summary>
internal sealed class EmbeddedNetwork : IDisposable
{
    public const string Help = "Network adapter on an in-process switch: private:NAME, internal:TAP (host interface TAP) or external:IFACE (bridged), optionally ,mac=0A-48-53-..; repeat for more";
    private readonly Dictionary<string, VirtualSwitch> _switches = new(StringComparer.Ordinal);

    public IReadOnlyList<NetworkAdapterAttachment> Parse(IEnumerable<string> specs) => specs.Select(Parse).ToList();

    private NetworkAdapterAttachment Parse(string spec, int index)
    {
        var parts = spec.Split(',');
        string switchName = parts[0];
        SwitchTypeOf(switchName, spec);
        MacAddress? mac = null;
        foreach (var option in parts.Skip(1))
        {
            if (!option.StartsWith("mac=", StringComparison.Ordinal)) throw new UsageException($"--nic {spec}: unknown option '{option}' (mac=... is the only one)");
            try { mac = MacAddress.Parse(option[4..]); }
            catch (FormatException e) { throw new UsageException($"--nic {spec}: {e.Message}"); }
            if (mac.Value.IsMulticast) throw new UsageException($"--nic {spec}: {mac} is a multicast address; an adapter needs a unicast MAC");
        }
        var address = mac ?? RandomHostMac();
        string name = $"eth{index}";
        return new NetworkAdapterAttachment(name, address, switchName, () => Connect(switchName, name, address));
    }

    /// <summary>How a restored VM's adapter gets back onto its switch.</summary>
    public Func<IFrameLink>? Reconnect(SavedNetworkAdapter adapter) =>
        adapter.SwitchName is { } s ? () => Connect(s, adapter.Name, MacAddress.Parse(adapter.Mac)) : null;

    private IFrameLink Connect(string switchName, string port, MacAddress mac)
    {
        if (!_switches.TryGetValue(switchName, out var vs))
        {
            var type = SwitchTypeOf(switchName, switchName);
            string name = switchName[(switchName.IndexOf(':') + 1)..];
            vs = HostedSwitch.Start(new SwitchConfiguration
            {
                Name = name, Type = type,
                HostInterfaceName = type == SwitchType.Internal ? name : null,
                NetAdapterName = type == SwitchType.External ? name : null,
            });
            _switches[switchName] = vs;
        }
        if (vs.Ports.FirstOrDefault(p => p.Name == port) is { } old) vs.RemovePort(old); // the VM was rebuilt (guest reset)
        var (switchEnd, adapterEnd) = InProcessLink.CreatePair(port);
        vs.AddPort(port, switchEnd, new PortSettings { MacAddress = mac });
        return adapterEnd;
    }

    private static SwitchType SwitchTypeOf(string switchName, string spec)
    {
        int colon = switchName.IndexOf(':');
        if (colon <= 0 || colon == switchName.Length - 1) throw new UsageException($"--nic {spec}: expected private:NAME, internal:TAP or external:IFACE");
        return switchName[..colon] switch
        {
            "private" => SwitchType.Private,
            "internal" => SwitchType.Internal,
            "external" => SwitchType.External,
            var kind => throw new UsageException($"--nic {spec}: '{kind}' is not a switch type (private, internal or external)"),
        };
    }

    private static MacAddress RandomHostMac()
    {
        var (min, _) = MacAddressPool.DefaultRange();
        return new MacAddress(min.Value + (ulong)RandomNumberGenerator.GetInt32(1, 0xFFFF));
    }

    public void Dispose()
    {
        foreach (var vs in _switches.Values) vs.Dispose();
        _switches.Clear();
    }
}
