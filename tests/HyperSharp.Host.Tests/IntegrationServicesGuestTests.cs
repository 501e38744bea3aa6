using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Integration.Tests.Guest;
using HyperSharp.Machine.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Integration services of a host-managed VM, end to end: the Debian kit guest with hs-agent on the Emulated backend,
/// started by the in-process host (its worker a real `hyper worker`), seen only through the host's API. One boot serves
/// the whole sequence: heartbeat OK and the six services listed; the address the guest sets on its adapter in that
/// adapter's IPAddresses; both known again to a host that restarts; Copy-VMFile refused while the Guest Service Interface is off, then a random file copied in and
/// checked by SHA-256 inside the guest; `hyper vm exec` with its streams and exit code; heartbeat Lost Communication within 10 s of the agent being killed, OK again when
/// it is restarted; Stop-VM shutting the guest down through the agent (its clean-shutdown line on the console).
/// </summary>
public class IntegrationServicesGuestTests(ITestOutputHelper output)
{
    private const string Address = "10.99.13.5";

    // Sourced by the kit's /init after it started hs-agent; the test drives it through the console (its stdin).
    private const string GuestScript = """
        hostname integ-guest
        echo TEST-READY
        if ip addr add 10.99.13.5/24 dev eth0; then echo TEST-ADDR-SET; else echo TEST-ADDR-FAILED; fi
        i=0; while [ ! -e /root/in/deep/random.bin ] && [ $i -lt 6000 ]; do sleep 0.1; i=$((i+1)); done
        echo "TEST-SHA $(sha256sum /root/in/deep/random.bin | cut -d' ' -f1)"
        read -r step
        kill -9 $(pidof hs-agent) && echo TEST-AGENT-KILLED
        read -r step
        /sbin/hs-agent &
        echo TEST-AGENT-RESTARTED
        """;

    [Fact]
    public async Task AKitGuestWithTheAgentShowsHeartbeatAddressesTakesFilesAndShutsDownCleanly_ThroughTheHost()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var (agentKit, agentWhy) = AgentKit.Get();
        if (agentKit is null) { output.WriteLine("skipped: " + agentWhy); return; }
        await using var fixture = await HostFixture.StartAsync(output);
        var client = fixture.Client;
        var clock = Stopwatch.StartNew();

        string initrd = AgentKit.Initrd(kit, agentKit, fixture.Root, new Dictionary<string, string> { ["50-integration.sh"] = GuestScript });
        var vm = new VmRef { Name = "agent" };
        await client.CreateVmAsync(new CreateVmRequest
        {
            Name = "agent", MemoryStartupBytes = 256L << 20, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0 hs.agent" },
        });
        var adapter = await client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "net" });

        // Hyper-V's defaults, before the VM runs: every service on but Guest Service Interface; no status while it is off.
        var services = (await client.GuestIntegration.ListIntegrationServicesAsync(new ListIntegrationServicesRequest { Vm = vm })).Services;
        Assert.Equal(["Guest Service Interface", "Heartbeat", "Key-Value Pair Exchange", "Shutdown", "Time Synchronization", "VSS"], services.Select(s => s.Name));
        Assert.Equal([false, true, true, true, true, true], services.Select(s => s.Enabled));
        Assert.All(services, s => Assert.Equal("", s.PrimaryStatusDescription));
        Assert.Equal("", (await client.GetVmAsync(vm)).Heartbeat);

        await client.StartVmAsync(vm);
        var console = await fixture.ReadConsoleAsync("agent", t => t.Contains("TEST-ADDR-"), TimeSpan.FromSeconds(600));
        Assert.Contains("TEST-ADDR-SET", console);
        var addressSetAt = clock.Elapsed;

        // Heartbeat: OK once the agent answers; the services say OK, Get-VM names the agent.
        var running = await Until(client, vm, v => v.Heartbeat == "OkApplicationsUnknown", TimeSpan.FromSeconds(300), "heartbeat OK");
        output.WriteLine($"heartbeat OK at {clock.Elapsed.TotalSeconds:F1} s; {running.IntegrationServicesVersion}, {running.IntegrationServicesState}");
        Assert.StartsWith($"protocol {HyperSharp.Integration.Protocol.ProtocolVersions.Current}", running.IntegrationServicesVersion);
        Assert.Equal("Up to date", running.IntegrationServicesState);
        // Activation: this host holds no activation key, so the guest that asks stays not activated (AgentUpdateGuestTests has the other side).
        var asked = await Until(client, vm, v => v.GuestActivation.Length > 0, TimeSpan.FromSeconds(30), "the guest's activation state");
        Assert.Equal("Not activated: this host holds no activation key", asked.GuestActivation);
        services = (await client.GuestIntegration.ListIntegrationServicesAsync(new ListIntegrationServicesRequest { Vm = vm })).Services;
        Assert.All(services.Where(s => s.Enabled), s => Assert.Equal("OK", s.PrimaryStatusDescription));
        Assert.Single((await client.GuestIntegration.ListIntegrationServicesAsync(new ListIntegrationServicesRequest { Vm = vm, Name = "heart*" })).Services);

        // Key-Value Pair Exchange: the address the guest set shows on its adapter (matched by MAC) within seconds.
        await Until(client, vm, v => v.NetworkAdapters.Single().IpAddresses.Contains(Address), TimeSpan.FromSeconds(30), "the guest's address on its adapter");
        output.WriteLine($"address seen {(clock.Elapsed - addressSetAt).TotalSeconds:F1} s after the guest's line (the heartbeat wait included)");
        var listed = (await client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm })).Adapters.Single();
        Assert.Equal(adapter.MacAddress, listed.MacAddress);
        Assert.Contains(Address, listed.IpAddresses);

        // A host that restarts learns the agent's state from the worker when it attaches again, without asking the guest.
        await fixture.StopHostAsync();
        await fixture.StartHostAsync();
        client = fixture.Client;
        var adopted = await Until(client, vm, v => v.Heartbeat == "OkApplicationsUnknown" && v.NetworkAdapters.Single().IpAddresses.Contains(Address),
            TimeSpan.FromSeconds(60), "the agent's state after a host restart");
        Assert.Equal(running.IntegrationServicesVersion, adopted.IntegrationServicesVersion);
        Assert.Equal("integ-guest", adopted.GuestHostName);
        Assert.Equal(asked.GuestActivation, adopted.GuestActivation);
        Assert.Contains("integ-guest", CliRunner.Run(output, "vm", "show", "agent", "--host-socket", fixture.SocketPath).Out);

        // Guest Service Interface: off by default, so Copy-VMFile is refused saying so; on, a random file goes in whole.
        var data = RandomNumberGenerator.GetBytes(256 << 10);
        string source = Path.Combine(fixture.Root, "random.bin");
        await File.WriteAllBytesAsync(source, data);
        var copy = new CopyVmFileRequest { Vm = vm, SourcePath = source, DestinationPath = "/root/in/deep/random.bin", CreateFullPath = true };
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.GuestIntegration.CopyVmFileAsync(copy));
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("Guest Service Interface integration service is disabled", refused.Status.Detail);
        var enabled = await client.GuestIntegration.SetIntegrationServiceAsync(new SetIntegrationServiceRequest { Vm = vm, Name = "guest service interface", Enabled = true });
        Assert.True(enabled.Enabled);
        Assert.Equal("Guest Service Interface", enabled.Name);
        var t = Stopwatch.StartNew();
        Assert.Equal(data.Length, (await client.GuestIntegration.CopyVmFileAsync(copy)).Bytes);
        output.WriteLine($"Copy-VMFile: 256 KiB in {t.Elapsed.TotalSeconds:F2} s");
        console = await fixture.ReadConsoleAsync("agent", t => Regex.IsMatch(t, @"TEST-SHA \S+\s"), TimeSpan.FromSeconds(120));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), Regex.Match(console, @"TEST-SHA (\S+)").Groups[1].Value);
        // Without -Force a file already there stays, and the refusal says why.
        var again = await Assert.ThrowsAsync<RpcException>(async () => await client.GuestIntegration.CopyVmFileAsync(copy));
        Assert.Contains("Failed to copy the source file", again.Status.Detail);

        // `hyper vm exec` through the host: stdin in, stdout and stderr out, the exit code back; the file checked again there.
        CliResult Exec(byte[] stdin, params string[] command) => CliRunner.RunWithInput(output, stdin, ["vm", "exec", "agent", "--host-socket", fixture.SocketPath, "--", .. command]);
        var run = Exec("ping\n"u8.ToArray(), "/bin/sh", "-c", "read x; echo \"out:$x\"; echo err >&2; exit 7");
        Assert.Equal((7, "out:ping\n", "err\n"), (run.Exit, run.Out, run.Error));
        t.Restart();
        Assert.Equal(0, Exec([], "true").Exit);
        output.WriteLine($"hyper vm exec round trip (in-process CLI, host, worker, agent): {t.Elapsed.TotalMilliseconds:F0} ms");
        Assert.StartsWith(Convert.ToHexStringLower(SHA256.HashData(data)), Exec([], "sha256sum", "/root/in/deep/random.bin").Out);

        // Time Synchronization switched while the VM runs: off, the guest's clock set wrong stays wrong; on, it is set at once.
        await client.GuestIntegration.SetIntegrationServiceAsync(new SetIntegrationServiceRequest { Vm = vm, Name = "Time Synchronization", Enabled = false });
        Assert.Equal(0, Exec([], "date", "-s", "2001-01-01 00:00:00").Exit);
        Assert.StartsWith("2001", Exec([], "date", "+%Y").Out);
        await client.GuestIntegration.SetIntegrationServiceAsync(new SetIntegrationServiceRequest { Vm = vm, Name = "Time Synchronization", Enabled = true });
        var clockWait = Stopwatch.StartNew();
        long GuestSkew() => Math.Abs(long.Parse(Exec([], "date", "+%s").Out.Trim(), System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        while (GuestSkew() > 2)
            if (clockWait.Elapsed > TimeSpan.FromSeconds(20)) throw new Xunit.Sdk.XunitException("the guest clock was not set within 20 s of Time Synchronization coming on");
        output.WriteLine($"guest clock right {clockWait.Elapsed.TotalSeconds:F1} s after Time Synchronization came on");

        // Heartbeat: Lost Communication within 10 s of the agent being killed; OK again once it runs again.
        await fixture.ReadConsoleAsync("agent", t => t.Contains("TEST-AGENT-KILLED"), TimeSpan.FromSeconds(60), "kill\n"u8.ToArray());
        var killedAt = clock.Elapsed;
        await Until(client, vm, v => v.Heartbeat == "LostCommunication", TimeSpan.FromSeconds(30), "heartbeat lost");
        var lostAfter = clock.Elapsed - killedAt;
        output.WriteLine($"heartbeat Lost Communication {lostAfter.TotalSeconds:F1} s after the agent was killed");
        Assert.True(lostAfter < TimeSpan.FromSeconds(10), $"heartbeat lost only after {lostAfter.TotalSeconds:F1} s");
        Assert.Contains("Lost Communication", (await client.GuestIntegration.ListIntegrationServicesAsync(new ListIntegrationServicesRequest { Vm = vm, Name = "Heartbeat" })).Services.Single().PrimaryStatusDescription);
        var noAgent = Exec([], "true");
        Assert.Equal(1, noAgent.Exit);
        Assert.Contains("guest agent is not answering", noAgent.Error);
        await fixture.ReadConsoleAsync("agent", t => t.Contains("TEST-AGENT-RESTARTED"), TimeSpan.FromSeconds(60), "restart\n"u8.ToArray());
        await Until(client, vm, v => v.Heartbeat == "OkApplicationsUnknown", TimeSpan.FromSeconds(120), "heartbeat back");

        // Shutdown: Stop-VM goes through the agent (the host says so), and the guest shuts itself down rather than being turned off.
        var stopped = await client.StopVmAsync(new StopVmRequest { Vm = vm, TimeoutSeconds = 240 });
        Assert.Equal(VmState.Off, stopped.State);
        Assert.Contains(fixture.HostLog, line => line.Contains("its guest agent is shutting the guest down"));
        Assert.Contains("the guest shut down", stopped.LastOffReason);
        Assert.Equal("", stopped.Heartbeat);
        Assert.Empty(stopped.NetworkAdapters.Single().IpAddresses);
        output.WriteLine($"the whole sequence took {clock.Elapsed.TotalSeconds:F0} s; last off reason: {stopped.LastOffReason}");
    }

    /// <summary>Reads the VM through the API until <paramref name="holds"/> (the worker reports; the test only looks), or fails naming <paramref name="what"/>.</summary>
    internal static async Task<Vm> Until(VmHost.VmHostClient client, VmRef vm, Func<Vm, bool> holds, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        Vm last;
        while (!holds(last = await client.GetVmAsync(vm)))
        {
            if (deadline.Elapsed > timeout)
                throw new Xunit.Sdk.XunitException($"{what}: not within {timeout.TotalSeconds:F0} s; last heartbeat '{last.Heartbeat}', adapters "
                    + string.Join("; ", last.NetworkAdapters.Select(a => $"{a.MacAddress} [{string.Join(", ", a.IpAddresses)}]")));
            await Task.Delay(100);
        }
        return last;
    }
}
