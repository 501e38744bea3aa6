using System.Net.NetworkInformation;
using System.Net.Sockets;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>The guest's intrinsic items: host name, OS name and version (os-release), kernel, and each adapter's MAC with its addresses.</summary>
internal static class GuestInfoCollector
{
    public static GuestInfoMessage Collect()
    {
        var os = OsRelease();
        string name = os.GetValueOrDefault("NAME") ?? "Linux";
        string version = os.GetValueOrDefault("VERSION") ?? os.GetValueOrDefault("VERSION_ID") ?? "";
        string kernel = ReadTrimmed("/proc/sys/kernel/osrelease");
        var adapters = new List<NetworkAdapterInfo>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.NetworkInterfaceType == NetworkInterfaceType.Loopback) continue;
            var v4 = new List<string>();
            var v6 = new List<string>();
            foreach (var a in nic.GetIPProperties().UnicastAddresses)
            {
                if (a.Address.AddressFamily == AddressFamily.InterNetwork) v4.Add(a.Address.ToString());
                else if (a.Address.AddressFamily == AddressFamily.InterNetworkV6) v6.Add(a.Address.ToString());
            }
            var mac = nic.GetPhysicalAddress().GetAddressBytes();
            adapters.Add(new NetworkAdapterInfo(nic.Name, string.Join('-', mac.Select(b => b.ToString("X2"))), [.. v4], [.. v6]));
        }
        return new GuestInfoMessage(System.Net.Dns.GetHostName(), name, version, kernel, [.. adapters]);
    }

    /// <summary>The Auto pool, with the names Hyper-V's KVP component gives these items.</summary>
    public static KvpItem[] AutoPool(GuestInfoMessage info) =>
    [
        new("FullyQualifiedDomainName", info.HostName),
        new("OSName", info.OSName),
        new("OSVersion", info.OSVersion),
        new("OSBuildNumber", info.KernelVersion),
        new("NetworkAddressIPv4", string.Join(';', info.Adapters.SelectMany(a => a.IPv4Addresses))),
        new("NetworkAddressIPv6", string.Join(';', info.Adapters.SelectMany(a => a.IPv6Addresses))),
        new("IntegrationServicesVersion", $"hs-agent {AgentBuild.Version}"),
    ];

    private static Dictionary<string, string> OsRelease()
    {
        var result = new Dictionary<string, string>();
        foreach (var path in new[] { "/etc/os-release", "/usr/lib/os-release" })
        {
            if (!File.Exists(path)) continue;
            foreach (var line in File.ReadAllLines(path))
            {
                int eq = line.IndexOf('=');
                if (eq > 0) result[line[..eq]] = line[(eq + 1)..].Trim('"');
            }
            break;
        }
        return result;
    }

    private static string ReadTrimmed(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return ""; }
    }
}
