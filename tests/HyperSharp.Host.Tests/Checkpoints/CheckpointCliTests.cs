using HyperSharp.Api.V1;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;

namespace HyperSharp.Host.Tests.Checkpoints;

/// <summary>`hyper vm checkpoint` and its list, rename, restore and remove verbs against a real host.</summary>
public class CheckpointCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheCliTakesListsRenamesRestoresAndRemovesCheckpoints()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (_, data) = await CreateVmAsync(host, "cli", "c", CheckpointType.Production);
        CliResult Hyper(params string[] args) => CliRunner.Run(output, [.. args, "--host-socket", host.SocketPath]);

        await WriteAsync(host, "cli", 'A');
        var taken = Hyper("vm", "checkpoint", "cli", "--name", "before");
        Assert.Equal(0, taken.Exit);
        Assert.Contains("checkpoint 'before' taken", taken.Out);
        Assert.Contains("warning: VM 'cli': no guest agent", taken.Error); // Production, the default, falls back to standard
        await WriteAsync(host, "cli", 'B');
        Assert.Equal(0, Hyper("vm", "checkpoint", "cli").Exit);

        var list = Hyper("vm", "checkpoint", "list", "cli");
        Assert.Equal(0, list.Exit);
        Assert.Contains("before", list.Out);
        Assert.Matches(@"cli - \(\d+/\d+/\d{4} - \d+:\d\d:\d\d (AM|PM)\) +Standard +before +\S+ \S+ +yes", list.Out);

        Assert.Equal(0, Hyper("vm", "checkpoint", "rename", "cli", "before", "first").Exit);
        var restored = Hyper("vm", "checkpoint", "restore", "cli", "first");
        Assert.Equal(0, restored.Exit);
        Assert.Contains("cli: Off, at checkpoint 'first'", restored.Out);
        Assert.Equal('A', Read(await CurrentDiskAsync(host, "cli")));

        var missing = Hyper("vm", "checkpoint", "remove", "cli", "nothing-by-this-name");
        Assert.NotEqual(0, missing.Exit);
        Assert.Contains("VM 'cli' has no checkpoint named 'nothing-by-this-name'", missing.Error);
        Assert.Equal(0, Hyper("vm", "checkpoint", "remove", "cli", "first", "--include-children").Exit);
        Assert.Contains("\"checkpoints\": []", Hyper("vm", "checkpoint", "list", "cli", "--json").Out);
        Assert.Equal(data, await CurrentDiskAsync(host, "cli"));
        Assert.Equal('A', Read(data));
        AssertChainClean(output, data);
    }
}
