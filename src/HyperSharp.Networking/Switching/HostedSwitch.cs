using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Links;

namespace HyperSharp.Networking.Switching;

/// <summary>
/// Builds a running switch from its configuration, with the host-side port its type needs: none
/// for Private, a TAP interface for Internal, a packet socket on the host adapter for External.
/// If that port cannot be set up the error says why and nothing is left behind.
/// </summary>
public static class HostedSwitch
{
    public static VirtualSwitch Start(SwitchConfiguration config, SwitchOptions? options = null)
    {
        var vs = new VirtualSwitch(config.Name, config.Type, options);
        try
        {
            switch (config.Type)
            {
                case SwitchType.Internal:
                    string tap = config.HostInterfaceName ?? DefaultTapName(config.Name);
                    vs.AddPort("host", TapDevice.Create(tap), new PortSettings { Role = PortRole.Host });
                    break;
                case SwitchType.External:
                    string adapter = config.NetAdapterName ?? throw new NetworkSetupException($"External switch {config.Name} needs the host adapter to bridge to (-NetAdapterName)");
                    vs.AddPort("uplink", PacketSocketLink.Open(adapter), new PortSettings { Role = PortRole.Uplink });
                    break;
            }
            return vs;
        }
        catch
        {
            vs.Dispose();
            throw;
        }
    }

    /// <summary>"hs-" and the switch name's letters and digits, cut to the 15 characters Linux allows.</summary>
    public static string DefaultTapName(string switchName)
    {
        var name = "hs-" + new string(switchName.Where(char.IsAsciiLetterOrDigit).ToArray());
        return name.Length > 15 ? name[..15] : name;
    }
}
