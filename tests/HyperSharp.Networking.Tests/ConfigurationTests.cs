using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Switching;

namespace HyperSharp.Networking.Tests;

/// <summary>The persisted network configuration and the host's MAC address pool.</summary>
public class ConfigurationTests
{
    [Fact]
    public void ConfigurationRoundTrips_AndASaveReplacesTheFileWhole()
    {
        string dir = Directory.CreateTempSubdirectory("hs-netcfg").FullName;
        try
        {
            var store = new NetworkConfigStore(Path.Combine(dir, "network.json"));
            Assert.Empty(store.Load().Switches); // no file yet: empty configuration
            var config = new NetworkConfiguration
            {
                Switches = [new SwitchConfiguration { Name = "Lab", Type = SwitchType.Internal }, new SwitchConfiguration { Name = "Uplink", Type = SwitchType.External, NetAdapterName = "eth0" }],
            };
            store.Save(config);
            var back = store.Load();
            Assert.Equal(config.Switches, back.Switches);
            Assert.Equal(config.MacAddressMinimum, back.MacAddressMinimum);
            Assert.Equal(["network.json"], Directory.GetFiles(dir).Select(Path.GetFileName)); // no temporary left behind
            string text = File.ReadAllText(store.Path);
            Assert.Contains("\"Version\": 1", text);
            Assert.Contains("\"Internal\"", text);
            Assert.Contains("0A-48-53-", text);
            File.WriteAllText(store.Path, text.Replace("\"Version\": 1", "\"Version\": 99"));
            Assert.Contains("version 99", Assert.Throws<InvalidDataException>(store.Load).Message);
            File.WriteAllText(store.Path, "{ not json");
            Assert.Throws<InvalidDataException>(store.Load);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void MacPool_HandsOutLocallyAdministeredUnicastAddressesOnce()
    {
        var (min, max) = MacAddressPool.DefaultRange();
        Assert.Equal(MacAddressPool.DefaultRange(), (min, max));                 // stable for this host
        Assert.Equal(0x0A4853UL, min.Value >> 24);
        Assert.False(min.IsMulticast);
        Assert.True((min.Value >> 40 & 2) != 0);                                  // locally administered
        var pool = new MacAddressPool(min, new MacAddress(min.Value + 3), [new MacAddress(min.Value + 1)]);
        pool.Reserve(new MacAddress(min.Value + 2));
        Assert.Equal(min, pool.Allocate());
        Assert.Equal(new MacAddress(min.Value + 3), pool.Allocate());
        Assert.Throws<InvalidOperationException>(() => pool.Allocate());
        pool.Release(min);
        Assert.Equal(min, pool.Allocate());
        Assert.Equal(MacAddress.Parse("0a:48:53:01:02:03"), MacAddress.Parse("0A4853010203"));
        Assert.Equal("0A-48-53-01-02-03", MacAddress.Parse("0a-48-53-01-02-03").ToString());
        Assert.Throws<FormatException>(() => MacAddress.Parse("0A-48-53-01-02"));
    }
}
