using System.Text.Json;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>`hyper vm integration`, `hyper vm copy-file` and `hyper vm exec` against a host: what an administrator types, text and --json, and the refusals.</summary>
public class IntegrationCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task IntegrationCommandsListAndChangeServicesAndCopyFileSaysWhyItCannot()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("web", host.Guest("idle.elf", TestGuests.Idle()));
        CliResult Hyper(params string[] args) => CliRunner.Run(output, [.. args, "--host-socket", host.SocketPath]);

        var list = Hyper("vm", "integration", "web").Out.Trim().Split('\n');
        Assert.Matches(@"^VMName\s+Name\s+Enabled\s+PrimaryStatusDescription\s+SecondaryStatusDescription$", list[0].Trim());
        Assert.Equal(8, list.Length); // header, rule, six services
        Assert.Matches(@"web\s+Guest Service Interface\s+False", list[2]);
        Assert.Matches(@"^web\s+Guest Service Interface\s+True\s*$", Hyper("vm", "integration", "web", "enable", "guest service interface").Out.Trim().Split('\n')[^1]);
        Assert.Matches(@"^web\s+VSS\s+False\s*$", Hyper("vm", "integration", "web", "disable", "VSS").Out.Trim().Split('\n')[^1]);
        using (var json = JsonDocument.Parse(Hyper("vm", "integration", "web", "--json").Out))
        {
            var enabled = json.RootElement.GetProperty("services").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("enabled").GetBoolean());
            Assert.True(enabled["Guest Service Interface"]);
            Assert.False(enabled["VSS"]);
            Assert.True(enabled["Heartbeat"]);
        }

        var unknown = Hyper("vm", "integration", "web", "enable", "Data Exchange");
        Assert.Equal(1, unknown.Exit);
        Assert.Equal("hyper: name: 'Data Exchange' is not an integration service; the services are: Guest Service Interface, Heartbeat, "
            + "Key-Value Pair Exchange, Shutdown, Time Synchronization, VSS", unknown.Error.Trim());
        Assert.Equal(2, Hyper("vm", "integration", "web", "toggle", "VSS").Exit);
        Assert.Equal(2, Hyper("vm", "integration", "web", "enable").Exit);

        string file = Path.Combine(host.Root, "hello.txt");
        await File.WriteAllTextAsync(file, "hello");
        var off = Hyper("vm", "copy-file", "web", file, "/root/hello.txt");
        Assert.Equal(1, off.Exit);
        Assert.Equal("hyper: cannot copy a file into VM 'web': it is Off", off.Error.Trim());
        var missing = Hyper("vm", "copy-file", "web", Path.Combine(host.Root, "nothing.txt"), "/root/hello.txt");
        Assert.Contains("does not exist on the host", missing.Error);

        var exec = CliRunner.Run(output, "vm", "exec", "web", "--host-socket", host.SocketPath, "--", "uname", "-a");
        Assert.Equal(1, exec.Exit);
        Assert.Equal("hyper: cannot run a command in VM 'web': it is Off", exec.Error.Trim());
    }
}
