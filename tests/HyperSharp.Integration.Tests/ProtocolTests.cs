using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using HyperSharp.Guest;
using HyperSharp.Guest.Services;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration.Tests;

/// <summary>
/// The agent's services and the host's client in one process (the agent's code as it runs in the guest, over a socket
/// pair): version negotiation with older builds both ways, each service's outcome, and hostile frames refused.
/// </summary>
public class ProtocolTests
{
    [Theory]
    [InlineData(4, 4, 4)]
    [InlineData(3, 4, 3)] // an agent of the build before exec as a guest account, with a newer host
    [InlineData(3, 3, 3)]
    [InlineData(2, 3, 2)] // an agent of the build before updates, with a newer host
    [InlineData(1, 3, 1)] // an older agent with a newer host
    [InlineData(3, 1, 1)] // a newer agent with an older host
    public async Task BothSides_UseTheNewestVersionTheyShare(int agentVersion, int hostVersion, int expected)
    {
        await using var pair = await InProcessAgent.StartAsync(agentVersion, hostVersion);
        await pair.Host.HeartbeatAsync();
        Assert.Equal(expected, pair.Host.Version);
        Assert.Equal(expected, pair.Session.Version);
        Assert.Equal(ProtocolVersions.Supported(agentVersion), pair.Host.Peer.Versions);
        if (expected < ProtocolVersions.Exec)
        {
            var e = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.StartAsync(["true"]));
            Assert.Contains($"protocol {expected}", e.Message);
            // The agent refuses too, should a host send it anyway.
            var refused = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.RequestAsync(
                id => pair.Host.Channel.SendAsync(MessageType.ExecStart, id, new ExecStartMessage(["true"], null, null), ProtocolJson.Default.ExecStartMessage),
                pair.Host.NextId(), null, default));
            Assert.Contains("not part of protocol 1", refused.Message);
        }
        else
        {
            var command = await pair.Host.StartAsync(["/bin/sh", "-c", "echo v2"]);
            var output = new MemoryStream();
            Assert.Equal(0, (await command.RunAsync(null, output, Stream.Null)).ExitCode);
            Assert.Equal("v2\n", Encoding.UTF8.GetString(output.ToArray()));
        }
    }

    [Fact]
    public async Task APeerWithNoVersionInCommon_IsRefusedWithBothLists()
    {
        string dir = Directory.CreateTempSubdirectory("hs-proto").FullName;
        try
        {
            var (agentEnd, hostEnd) = InProcessAgent.Pair(Path.Combine(dir, "p.sock"));
            var session = new AgentSession(new FrameChannel(new NetworkStream(agentEnd, true)), new FakeGuestSystem(dir, Path.Combine(dir, "hs-agent")));
            var agent = Task.Run(() => session.RunAsync());
            await using var host = new FrameChannel(new NetworkStream(hostEnd, true));
            var e = await Assert.ThrowsAsync<ProtocolException>(() => Handshake.RunAsync(host, new HelloMessage([9, 8], "future host", [])));
            Assert.Contains("no protocol version in common", e.Message);
            var agentSide = await Assert.ThrowsAsync<ProtocolException>(() => agent);
            Assert.Contains("9,8", agentSide.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task TimeSync_SetsTheClockAndReportsTheOffset()
    {
        await using var pair = await InProcessAgent.StartAsync();
        var before = DateTimeOffset.UtcNow;
        await pair.Host.SyncTimeAsync();
        Assert.InRange(pair.System.ClockSetTo!.Value, before.AddSeconds(-1), DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Shutdown_IsAcknowledgedThenThePowerGoesOff()
    {
        await using var pair = await InProcessAgent.StartAsync();
        await pair.Host.ShutdownAsync("Stop-VM");
        // The agent answers first and powers off after: wait for the power-off itself, not a moment after the answer.
        Assert.Equal("Stop-VM", await pair.System.PoweredOff.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Kvp_PoolsWithHyperVsLimits_InTheHvKvpDaemonFileLayout()
    {
        await using var pair = await InProcessAgent.StartAsync();
        await pair.Host.SetKvpAsync("Environment", "lab");
        await pair.Host.SetKvpAsync("Owner", "ops");
        await pair.Host.SetKvpAsync("Environment", "production"); // replaces
        await pair.Host.DeleteKvpAsync("Owner");
        var external = await pair.Host.GetKvpAsync(KvpPool.External);
        Assert.Equal([new KvpItem("Environment", "production")], external);
        var file = Path.Combine(pair.System.KvpDirectory, ".kvp_pool_0");
        Assert.Equal(512 + 2048, new FileInfo(file).Length); // one record: a 512-byte key and a 2048-byte value

        new KvpPoolFile(pair.System.KvpDirectory, KvpPool.Guest).Write([new KvpItem("AppState", "ready")]); // guest software writes its pool
        Assert.Equal([new KvpItem("AppState", "ready")], await pair.Host.GetKvpAsync(KvpPool.Guest));
        var auto = await pair.Host.GetKvpAsync(KvpPool.Auto);
        Assert.Contains(auto, i => i.Key == "NetworkAddressIPv4");
        Assert.Contains(auto, i => i.Key == "OSName" && i.Value.Length > 0);

        Assert.Throws<ArgumentException>(() => { _ = pair.Host.SetKvpAsync(new string('k', 512), "v"); });
        Assert.Throws<ArgumentException>(() => { _ = pair.Host.SetKvpAsync("k", new string('v', 2048)); });
        // A host that skips the check is refused by the agent, and the session goes on.
        var refused = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.CallAsync(MessageType.KvpSet,
            new KvpSetMessage(KvpPool.External, new string('k', 600), "v"), ProtocolJson.Default.KvpSetMessage));
        Assert.Contains("at most 511", refused.Message);
        var wrongPool = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.CallAsync(MessageType.KvpSet,
            new KvpSetMessage(KvpPool.Guest, "k", "v"), ProtocolJson.Default.KvpSetMessage));
        Assert.Contains("only the External (0) and AutoExternal (3) pools", wrongPool.Message);
        await pair.Host.HeartbeatAsync();
    }

    [Fact]
    public async Task FileCopy_ChecksTheHash_AndHonoursCreateFullPathAndForce()
    {
        await using var pair = await InProcessAgent.StartAsync();
        string source = Path.Combine(pair.Folder, "source.bin");
        var data = RandomNumberGenerator.GetBytes(300_000);
        await File.WriteAllBytesAsync(source, data);
        string target = Path.Combine(pair.Folder, "guest", "deep", "copy.bin");
        var noFolder = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.CopyFileAsync(source, target, createFullPath: false, force: false));
        Assert.Contains("-CreateFullPath", noFolder.Message);
        await pair.Host.CopyFileAsync(source, target, createFullPath: true, force: false);
        Assert.Equal(data, await File.ReadAllBytesAsync(target));
        var exists = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.CopyFileAsync(source, target, createFullPath: true, force: false));
        Assert.Contains("-Force", exists.Message);
        await File.WriteAllBytesAsync(source, data[..1000]);
        await pair.Host.CopyFileAsync(source, target, createFullPath: false, force: true);
        Assert.Equal(data[..1000], await File.ReadAllBytesAsync(target));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(target)!)); // no temporary file left behind
    }

    [Fact]
    public async Task Vss_FreezesInMountOrder_ThawsInReverse_AndThawsByItselfWhenTheHostGoes()
    {
        var pair = await InProcessAgent.StartAsync();
        try
        {
            Assert.Equal(["/", "/data", "/data/logs"], await pair.Host.FreezeAsync(TimeSpan.FromMinutes(5)));
            await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.FreezeAsync(TimeSpan.FromMinutes(5))); // frozen already
            Assert.Equal(["/data/logs", "/data", "/"], await pair.Host.ThawAsync());
            Assert.Equal(["freeze /", "freeze /data", "freeze /data/logs", "thaw /data/logs", "thaw /data", "thaw /"], pair.System.Events);
            pair.System.Events.Clear();
            await pair.Host.FreezeAsync(TimeSpan.FromMinutes(5));
        }
        finally { await pair.DisposeAsync(); } // the host goes away while the guest is frozen
        await pair.System.AllThawed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("thaw /", pair.System.Events[^1]);
    }

    [Fact]
    public async Task Vss_ThawsWhenTheTimeoutPasses()
    {
        await using var pair = await InProcessAgent.StartAsync();
        await pair.Host.FreezeAsync(TimeSpan.FromSeconds(1));
        await pair.System.AllThawed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Empty(await pair.Host.ThawAsync()); // nothing left frozen
    }

    [Fact]
    public async Task Exec_StreamsStdinStdoutStderr_ReturnsTheExitCode_AndForwardsSignals()
    {
        await using var pair = await InProcessAgent.StartAsync();
        var command = await pair.Host.StartAsync(["/bin/sh", "-c", "read x; echo \"out:$x\"; echo err >&2; exit 7"]);
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var exit = await command.RunAsync(new MemoryStream("ping\n"u8.ToArray()), stdout, stderr);
        Assert.Equal((7, 0), (exit.ExitCode, exit.Signal));
        Assert.Equal("out:ping\n", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal("err\n", Encoding.UTF8.GetString(stderr.ToArray()));

        var sleeper = await pair.Host.StartAsync(["/bin/sleep", "60"]);
        await sleeper.SignalAsync(15);
        Assert.Equal(15, (await sleeper.Exit.WaitAsync(TimeSpan.FromSeconds(30))).Signal);
        await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.StartAsync(["/nonexistent/program"]));
    }

    [Fact]
    public async Task HostileFrames_MalformedOnesAreRefused_BrokenFramingEndsTheSessionCleanly()
    {
        await using var pair = await InProcessAgent.StartAsync();
        var channel = pair.Host.Channel;
        // Malformed JSON and an unknown type: an Error each, and the session goes on.
        var bad = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.RequestAsync(
            id => channel.SendAsync(MessageType.KvpSet, id, "{not json"u8.ToArray()), pair.Host.NextId(), null, default));
        Assert.Contains("malformed", bad.Message);
        var unknown = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.RequestAsync(
            id => channel.SendAsync((MessageType)999, id), pair.Host.NextId(), null, default));
        Assert.Contains("999", unknown.Message);
        var time = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.CallAsync(MessageType.TimeSyncRequest,
            new TimeSyncRequestMessage(long.MaxValue), ProtocolJson.Default.TimeSyncRequestMessage));
        Assert.Contains("out of range", time.Message);
        await pair.Host.HeartbeatAsync();

        // A header announcing more than the limit: the agent ends the session (it cannot find the next frame) without harm.
        var header = new byte[FrameChannel.HeaderSize];
        BitConverter.TryWriteBytes(header, (uint)FrameChannel.MaxPayload + 1);
        BitConverter.TryWriteBytes(header.AsSpan(4), (ushort)MessageType.HeartbeatRequest);
        await channel.Stream.WriteAsync(header);
        var ended = await Assert.ThrowsAsync<ProtocolException>(() => pair.Running.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("at most", ended.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(64)]
    [InlineData(119)]
    [InlineData(1_000_003)]
    public void Sha256Stream_MatchesTheBcl(int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        var hash = new Sha256Stream();
        for (int at = 0; at < length; at += 7919) hash.Append(data.AsSpan(at, Math.Min(7919, length - at)));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), hash.FinishHex());
    }
}
