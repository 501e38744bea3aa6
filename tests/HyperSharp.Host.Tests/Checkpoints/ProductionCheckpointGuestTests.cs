using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Integration.Tests.Guest;
using HyperSharp.Machine.Tests;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;
using static HyperSharp.Host.Tests.IntegrationServicesGuestTests;

namespace HyperSharp.Host.Tests.Checkpoints;

/// <summary>
/// Production checkpoints end to end: the Debian kit guest with hs-agent on the Emulated backend (one boot), an ext4 VHDX
/// mounted in it. Checkpoint-VM freezes that mount through the agent (the guest's log shows the freeze and the thaw), the
/// checkpoint is Production with no saved state; a file written before it — not synced: the freeze flushes it — is what
/// the checkpoint's disk holds after a restore leaves the VM Off, not what was written after. With the agent killed,
/// ProductionOnly is refused naming why and Production takes a standard checkpoint with a warning saying so.
/// </summary>
public class ProductionCheckpointGuestTests(ITestOutputHelper output)
{
    // Sourced by the kit's /init after it started hs-agent; the test drives it through the console (its stdin).
    private const string GuestScript = ScsiGuestShell.Functions + """
        mkdir -p /mnt/data && mount -t ext4 /dev/$(scsi_disk 0) /mnt/data && echo "written before the checkpoint" > /mnt/data/note.txt && echo TEST-WRITTEN
        read -r step
        echo "written after the checkpoint" > /mnt/data/note.txt && sync && echo TEST-REWRITTEN
        read -r step
        kill -9 $(pidof hs-agent) && echo TEST-AGENT-KILLED
        """;

    [Fact]
    public async Task AProductionCheckpointFreezesTheGuestsFileSystemsAndRestoresToConsistentDisks()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var (agentKit, agentWhy) = AgentKit.Get();
        if (agentKit is null) { output.WriteLine("skipped: " + agentWhy); return; }
        if (!File.Exists("/usr/sbin/mkfs.ext4") || !File.Exists("/usr/sbin/debugfs")) { output.WriteLine("skipped: e2fsprogs (mkfs.ext4, debugfs) is not installed"); return; }
        await using var fixture = await HostFixture.StartAsync(output);
        var client = fixture.Client;

        string raw = Path.Combine(fixture.Root, "data.raw"), data = Path.Combine(fixture.Root, "data.vhdx");
        using (var f = File.Create(raw)) f.SetLength(32 << 20);
        GuestOverlay.Run("/usr/sbin/mkfs.ext4", "-q", "-F", raw);
        DiskConvert.Convert(raw, data, new ConvertOptions { Format = DiskFormat.Vhdx, Type = DiskType.Dynamic });
        File.Delete(raw);
        string initrd = AgentKit.Initrd(kit, agentKit, fixture.Root, new Dictionary<string, string> { ["50-production.sh"] = GuestScript });
        var vm = new VmRef { Name = "prod" };
        await client.CreateVmAsync(new CreateVmRequest
        {
            Name = "prod", MemoryStartupBytes = 256L << 20, Backend = "emulated", VhdPath = data,
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0 hs.agent" },
        });
        Assert.Equal(CheckpointType.Production, (await client.GetVmAsync(vm)).CheckpointType); // Hyper-V's default

        await client.StartVmAsync(vm);
        await fixture.ReadConsoleAsync("prod", t => t.Contains("TEST-WRITTEN"), TimeSpan.FromSeconds(600));
        await Until(client, vm, v => v.Heartbeat == "OkApplicationsUnknown", TimeSpan.FromSeconds(300), "heartbeat OK");

        var checkpoint = await client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "consistent" });
        output.WriteLine($"production checkpoint: the guest's file systems frozen {checkpoint.FrozenMs:0.0} ms (freeze answered to thaw answered), "
            + $"the guest paused {checkpoint.PauseMs:0.0} ms; frozen: {string.Join(", ", checkpoint.FrozenMounts)}");
        Assert.Empty(checkpoint.Warnings);
        Assert.Equal(CheckpointKind.Production, checkpoint.Kind);
        Assert.False(checkpoint.HasSavedState);
        Assert.Contains("/mnt/data", checkpoint.FrozenMounts);
        Assert.True(checkpoint.FrozenMs > 0 && checkpoint.FrozenMs >= checkpoint.PauseMs, $"frozen {checkpoint.FrozenMs} ms, paused {checkpoint.PauseMs} ms");
        Assert.Equal([data], checkpoint.DiskPaths);
        // The agent logs to the kernel's log, which the console shows: the freeze of the mount, then its thaw.
        string console = await fixture.ReadConsoleAsync("prod", t => t.Contains("thawed /mnt/data"), TimeSpan.FromSeconds(60));
        int froze = console.IndexOf("froze /mnt/data", StringComparison.Ordinal);
        Assert.True(froze >= 0 && froze < console.IndexOf("thawed /mnt/data", StringComparison.Ordinal), "the guest's log shows no freeze of /mnt/data before its thaw");
        Assert.Equal(CheckpointKind.Production, (await client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints.Single().Kind);

        // The guest goes on, frozen no more: it writes again.
        await fixture.ReadConsoleAsync("prod", t => t.Contains("TEST-REWRITTEN"), TimeSpan.FromSeconds(120), "go\n"u8.ToArray());

        // ProductionOnly with the agent killed: refused, naming why; nothing taken.
        await client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, CheckpointType = CheckpointType.ProductionOnly });
        await fixture.ReadConsoleAsync("prod", t => t.Contains("TEST-AGENT-KILLED"), TimeSpan.FromSeconds(60), "kill\n"u8.ToArray());
        await Until(client, vm, v => v.Heartbeat != "OkApplicationsUnknown", TimeSpan.FromSeconds(30), "heartbeat lost");
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "refused" }));
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("production checkpoints only", refused.Status.Detail);
        Assert.Contains("guest agent is not answering", refused.Status.Detail);
        Assert.Single((await client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints);
        // Production falls back to a standard checkpoint (memory kept), the warning naming why.
        await client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, CheckpointType = CheckpointType.Production });
        var standard = await client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "fallback" });
        Assert.Contains("guest agent is not answering", Assert.Single(standard.Warnings));
        Assert.Equal(CheckpointKind.Standard, standard.Kind);
        Assert.True(standard.HasSavedState);
        Assert.Empty(standard.FrozenMounts);

        // Restored, the VM is Off (no memory was kept) on a new child of the checkpoint's disk, which holds the file as it was then.
        var restored = await client.Checkpoints.RestoreCheckpointAsync(new CheckpointRef { Vm = vm, Name = "consistent" });
        Assert.Equal(VmState.Off, restored.State);
        string now = await CurrentDiskAsync(fixture, "prod");
        Assert.Equal([now, data], DiskChain.Paths(now));
        string back = Path.Combine(fixture.Root, "back.raw"), note = Path.Combine(fixture.Root, "note.txt");
        DiskConvert.Convert(now, back, new ConvertOptions { Format = DiskFormat.Raw });
        GuestOverlay.Run("/usr/sbin/debugfs", "-R", $"dump /note.txt {note}", back);
        Assert.Equal("written before the checkpoint\n", await File.ReadAllTextAsync(note));
        AssertChainClean(output, now);
    }
}
