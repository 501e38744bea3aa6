using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using HyperSharp.Api.V1;
using HyperSharp.Integration.Tests.Guest;
using HyperSharp.Machine.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Agent updates end to end: the Debian kit guest boots with agent 1.0.0; its host carries agent 1.0.1 (a second real
/// NativeAOT build, signed by the same publisher key) with `--agent-update`. The worker offers it, the agent in the
/// guest verifies the publisher's signature, renames the new executable over itself and execs it in the same process,
/// reconnects as 1.0.1, and Get-VM reads "Up to date". The guest itself checks what is now in /sbin. The host also holds the
/// activation key, so the guest's agent, asking over KVP, is activated.
/// </summary>
public class AgentUpdateGuestTests(ITestOutputHelper output)
{
    // The guest waits until /sbin/hs-agent is another file, then says what it is and who runs it.
    private const string GuestScript = """
        before=$(sha256sum /sbin/hs-agent | cut -d' ' -f1)
        echo "TEST-AGENT-BEFORE $before pid $(pidof hs-agent) ."
        i=0; while [ "$(sha256sum /sbin/hs-agent | cut -d' ' -f1)" = "$before" ] && [ $i -lt 6000 ]; do sleep 0.1; i=$((i+1)); done
        echo "TEST-AGENT-AFTER $(sha256sum /sbin/hs-agent | cut -d' ' -f1) pid $(pidof hs-agent) ."
        """;

    [Fact]
    public async Task A_host_carrying_a_newer_agent_updates_the_guest_s_agent_in_place()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var (agent, agentWhy) = AgentKit.Get();
        if (agent is null) { output.WriteLine("skipped: " + agentWhy); return; }
        var (newer, newerWhy) = AgentKit.Get("1.0.1");
        if (newer is null) { output.WriteLine("skipped: " + newerWhy); return; }
        string newSha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(newer, "hs-agent"))));

        string activationKey = AgentKit.ActivationKeyFile(agent);
        await using var fixture = await HostFixture.StartAsync(output, o => o with { AgentUpdateFolder = newer, ActivationKeyFile = activationKey });
        var client = fixture.Client;
        string initrd = AgentKit.Initrd(kit, agent, fixture.Root, new Dictionary<string, string> { ["50-update.sh"] = GuestScript });
        var vm = new VmRef { Name = "update" };
        await client.CreateVmAsync(new CreateVmRequest
        {
            Name = "update", MemoryStartupBytes = 256L << 20, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0 hs.agent" },
        });
        var clock = Stopwatch.StartNew();
        await client.StartVmAsync(vm);
        try
        {
            var console = await fixture.ReadConsoleAsync("update", t => t.Contains("TEST-AGENT-AFTER"), TimeSpan.FromSeconds(600));
            var before = Regex.Match(console, @"TEST-AGENT-BEFORE (\w+) pid (\d+) \.");
            var after = Regex.Match(console, @"TEST-AGENT-AFTER (\w+) pid (\d+) \.");
            Assert.True(before.Success && after.Success, console);
            output.WriteLine($"the guest's agent was replaced after {clock.Elapsed.TotalSeconds:F1} s: {before.Groups[1].Value[..12]} -> {after.Groups[1].Value[..12]}, pid {before.Groups[2].Value} -> {after.Groups[2].Value}");
            Assert.Equal(newSha, after.Groups[1].Value);
            Assert.Equal(before.Groups[2].Value, after.Groups[2].Value); // the same process, exec'd in place

            var updated = await IntegrationServicesGuestTests.Until(client, vm, v => v.IntegrationServicesVersion.Contains("hs-agent 1.0.1"), TimeSpan.FromSeconds(120), "the new agent connected");
            output.WriteLine($"{updated.IntegrationServicesVersion}: {updated.IntegrationServicesState}, heartbeat {updated.Heartbeat} after {clock.Elapsed.TotalSeconds:F1} s");
            Assert.Equal("Up to date", updated.IntegrationServicesState);
            // This host holds the activation key whose public half both agent builds carry: the new agent asked and is activated.
            var activated = await IntegrationServicesGuestTests.Until(client, vm, v => v.GuestActivation == "Activated", TimeSpan.FromSeconds(60), "the guest activated");
            output.WriteLine($"guest activation: {activated.GuestActivation} after {clock.Elapsed.TotalSeconds:F1} s");
            string workerLog = File.ReadAllText(Directory.EnumerateFiles(fixture.Root, "worker.log", SearchOption.AllDirectories).Single());
            var took = Regex.Match(workerLog, @"the guest's agent took agent 1\.0\.1 \(it was hs-agent 1\.0\.0\) in ([\d.]+) s");
            Assert.True(took.Success, workerLog);
            output.WriteLine($"offer, 4 MiB sent, verified and in place: {took.Groups[1].Value} s");
        }
        finally
        {
            await client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        }
    }
}
