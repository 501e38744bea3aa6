using System.Text.Json;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>`hyper host` as its own process, driven by the `hyper vm` commands: what an administrator does.</summary>
public class HostProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheCliDrivesAHostProcessThatSavesItsVmsOnSigtermAndStartsThemAgain()
    {
        await using var fixture = await HostFixture.StartAsync(output);
        await fixture.StopHostAsync(); // only the scratch root and the worker cleanup: the host here is a process
        string socket = fixture.SocketPath, kernel = fixture.Guest("counter.elf", TestGuests.Counter());

        var noHost = Hyper("vm", "list", "--host-socket", socket);
        Assert.Equal(1, noHost.Exit);
        Assert.Contains("no HyperSharp host service is listening", noHost.Error);

        using (var host = await HostProcess.StartAsync(fixture.Root, socket))
        {
            Assert.Contains("c: created", Hyper("vm", "new", "c", "--kernel", kernel, "--memory", "64MB", "--backend", "emulated", "--host-socket", socket).Out);
            Assert.Equal("c: Running", Hyper("vm", "start", "c", "--host-socket", socket).Out.Trim());
            var list = Hyper("vm", "list", "--json", "--host-socket", socket);
            using (var json = JsonDocument.Parse(list.Out))
                Assert.Equal("VM_STATE_RUNNING", json.RootElement.GetProperty("vms")[0].GetProperty("state").GetString());
            Assert.Matches(@"c\s+Running", Hyper("vm", "list", "--host-socket", socket).Out);
            Assert.Contains("State:                Running", Hyper("vm", "show", "c", "--host-socket", socket).Out);

            var wrongState = Hyper("vm", "set", "c", "--cpus", "2", "--host-socket", socket);
            Assert.Equal(1, wrongState.Exit);
            Assert.Equal("hyper: cannot change processors, memory, boot source or backend of VM 'c': it is Running", wrongState.Error.Trim());
            var missing = Hyper("vm", "start", "nothere", "--host-socket", socket);
            Assert.Equal("hyper: no VM named 'nothere' on this host", missing.Error.Trim());
            var invalid = Hyper("vm", "set", "c", "--automatic-start-delay", "-3", "--host-socket", socket);
            Assert.Equal("hyper: automatic_start_delay_seconds: -3: the automatic start delay in seconds must be from 0 to 86400", invalid.Error.Trim());

            // SIGTERM: the default automatic stop action saves the VM, then the host exits.
            Assert.Equal(0, await host.TerminateAsync(TimeSpan.FromSeconds(60)));
            output.WriteLine(host.Log);
        }
        Assert.Empty(fixture.Workers());
        Assert.Contains("\"state\": \"Saved\"", File.ReadAllText(Directory.GetFiles(Path.Combine(fixture.Root, "vms"), "runtime.json", SearchOption.AllDirectories).Single()));

        using (var host = await HostProcess.StartAsync(fixture.Root, socket))
        {
            // StartIfRunning (the default): the VM that was running when the host stopped starts again, from its saved state.
            await VmLifecycleTests.WaitForAsync(() => Task.FromResult(Hyper("vm", "show", "c", "--host-socket", socket).Out.Contains("State:                Running")), "the automatic start");
            Assert.Single(fixture.Workers());
            Assert.Equal("c: Off", Hyper("vm", "stop", "c", "--turn-off", "--host-socket", socket).Out.Trim());
            Assert.Contains("c2: Off", Hyper("vm", "rename", "c", "c2", "--host-socket", socket).Out);
            Assert.Equal(0, Hyper("vm", "remove", "c2", "--host-socket", socket).Exit);
            Assert.Empty(Directory.GetDirectories(Path.Combine(fixture.Root, "vms")));
            Assert.Equal(0, await host.TerminateAsync(TimeSpan.FromSeconds(30)));
        }
    }

    private CliResult Hyper(params string[] args) => CliRunner.Run(output, args);
}
