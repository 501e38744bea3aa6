using System.Text.Json;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>`hyper switch` and `hyper vm nic` against a host: what an administrator types, text and --json.</summary>
public class NetworkCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SwitchAndNicCommandsDriveTheHost()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("web", host.Guest("idle.elf", TestGuests.Idle()));
        CliResult Hyper(params string[] args) => CliRunner.Run(output, [.. args, "--host-socket", host.SocketPath]);

        Assert.Equal("lab: created (Private)", Hyper("switch", "new", "lab", "--notes", "bench").Out.Trim());
        Assert.Matches(@"lab\s+Private\s+0", Hyper("switch", "list").Out);
        var bad = Hyper("switch", "new", "x", "--type", "external");
        Assert.Equal(1, bad.Exit);
        Assert.Equal("hyper: net_adapter_name: an External switch needs the host adapter to bridge to", bad.Error.Trim());
        Assert.Equal(2, Hyper("switch", "new", "y", "--type", "bridge").Exit);

        Assert.Matches(@"^web: frontend: 0A4853[0-9A-F]{6} on lab$", Hyper("vm", "nic", "add", "web", "--name", "frontend", "--switch", "lab").Out.Trim());
        Assert.Equal("web: Network Adapter: 020000000007 not connected", Hyper("vm", "nic", "add", "web", "--static-mac", "02:00:00:00:00:07").Out.Trim());
        Assert.Equal("web: frontend: " + MacOf(Hyper("vm", "nic", "list", "web", "--json").Out, "frontend") + " on lab (VLAN 20)",
            Hyper("vm", "nic", "set", "web", "frontend", "--vlan", "20", "--dhcp-guard", "on").Out.Trim());
        Assert.Equal("hyper: --router-guard maybe: on or off", Hyper("vm", "nic", "set", "web", "frontend", "--router-guard", "maybe").Error.Trim());
        Assert.Equal("hyper: access_vlan_id: 5000: the access VLAN (0 for untagged) must be from 0 to 4094", Hyper("vm", "nic", "set", "web", "frontend", "--vlan", "5000").Error.Trim());
        Assert.Contains("not connected", Hyper("vm", "nic", "set", "web", "frontend", "--disconnect").Out);
        Assert.EndsWith("on lab (VLAN 20), device naming on", Hyper("vm", "nic", "set", "web", "frontend", "--switch", "lab", "--new-name", "public", "--device-naming", "on").Out.Trim());
        Assert.Matches(@"public\s+web\s+lab\s+0A4853[0-9A-F]{6}\s+20\s+On\s+Ok", Hyper("vm", "nic", "list", "web").Out);
        Assert.Matches(@"Network Adapter\s+web\s+020000000007\s+0\s+Off\s+Disconnected", Hyper("vm", "nic", "list", "web").Out);
        Assert.Equal("hyper: --device-naming yes: on or off", Hyper("vm", "nic", "add", "web", "--device-naming", "yes").Error.Trim());
        Assert.Contains("Connected adapters:   1", Hyper("switch", "show", "lab").Out);
        Assert.Matches(@"Network adapter:\s+public 0A4853[0-9A-F]{6} on lab VLAN 20", Hyper("vm", "show", "web").Out);
        Assert.Contains("lab2: updated", Hyper("switch", "set", "lab", "--new-name", "lab2").Out);

        Assert.Equal(0, Hyper("vm", "nic", "remove", "web", "Network Adapter").Exit);
        Assert.Equal(0, Hyper("switch", "remove", "lab2").Exit);
        using var json = JsonDocument.Parse(Hyper("vm", "nic", "list", "--json").Out);
        var only = Assert.Single(json.RootElement.GetProperty("adapters").EnumerateArray());
        Assert.Equal(("public", ""), (only.GetProperty("name").GetString(), only.GetProperty("switchName").GetString()));
        Assert.Equal(2, Hyper("switch", "list").Out.Trim().Split('\n').Length); // the header only
    }

    private static string MacOf(string json, string adapter)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("adapters").EnumerateArray().First(a => a.GetProperty("name").GetString() == adapter).GetProperty("macAddress").GetString()!;
    }
}
