using System.Net.Sockets;
using HyperSharp.Guest;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration.Tests;

/// <summary>
/// An agent session and the host's client joined by a Unix socket pair in this process: the same code as in the
/// guest, with <see cref="FakeGuestSystem"/> instead of the real clock, power and file systems. A lower
/// <c>agentVersion</c> or <c>hostVersion</c> plays an older build of that side.
/// </summary>
internal sealed class InProcessAgent : IAsyncDisposable
{
    public readonly FakeGuestSystem System;
    public readonly AgentSession Session;
    /// <summary>The session's end: true when an update was put in place and the agent would restart.</summary>
    public readonly Task<bool> Running;
    public readonly GuestAgent Host;
    private readonly string _dir;

    private InProcessAgent(string dir, FakeGuestSystem system, AgentSession session, Task<bool> running, GuestAgent host)
    {
        (_dir, System, Session, Running, Host) = (dir, system, session, running, host);
    }

    /// <param name="agentBuild">the agent build's version (default: this build's)</param>
    /// <param name="publisherKey">the publisher key the agent takes updates from (default: this build's, none in a test build)</param>
    public static async Task<InProcessAgent> StartAsync(int agentVersion = ProtocolVersions.Current, int hostVersion = ProtocolVersions.Current,
        string? agentBuild = null, byte[]? publisherKey = null, byte[]? activationKey = null)
    {
        string dir = Directory.CreateTempSubdirectory("hs-agent").FullName;
        var (agentEnd, hostEnd) = Pair(Path.Combine(dir, "pair.sock"));
        var system = new FakeGuestSystem(Path.Combine(dir, "kvp"), Path.Combine(dir, "sbin", "hs-agent"));
        var session = new AgentSession(new FrameChannel(new NetworkStream(agentEnd, ownsSocket: true)), system, agentVersion, agentBuild, publisherKey, activationKey);
        var running = Task.Run(() => session.RunAsync());
        var host = await GuestAgent.AcceptAsync(new NetworkStream(hostEnd, ownsSocket: true), hostVersion);
        return new InProcessAgent(dir, system, session, running, host);
    }

    /// <summary>Two connected stream sockets.</summary>
    public static (Socket A, Socket B) Pair(string path)
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var a = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        a.Connect(new UnixDomainSocketEndPoint(path));
        var b = listener.Accept();
        File.Delete(path);
        return (a, b);
    }

    public string Folder => _dir;

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        try { await Running.WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception e) when (e is IOException or ProtocolException or OperationCanceledException) { }
        Directory.Delete(_dir, true);
    }
}

/// <summary>The guest's clock, power, file systems and processes as a test sees them: recorded, not done (signals are real: exec runs real commands here).</summary>
internal sealed class FakeGuestSystem(string kvpDirectory, string executablePath) : IGuestSystem
{
    public string ExecutablePath => executablePath;

    public void Restart() => throw new InvalidOperationException("the in-process agent does not restart; the session's end says it would");

    public readonly List<string> Events = [];
    public DateTimeOffset? ClockSetTo;
    /// <summary>Completes with the reason once the agent powers the guest off (after it acknowledged the request).</summary>
    public readonly TaskCompletionSource<string> PoweredOff = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public string[] MountPoints = ["/", "/data", "/data/logs"];
    public readonly TaskCompletionSource AllThawed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _frozen;

    public string KvpDirectory => kvpDirectory;

    public void SetClock(DateTimeOffset time) => ClockSetTo = time;

    public void PowerOff(string reason) => PoweredOff.TrySetResult(reason);

    public IReadOnlyList<string> FreezableMountPoints() => MountPoints;

    public void Freeze(string mountPoint)
    {
        lock (Events) Events.Add("freeze " + mountPoint);
        _frozen++;
    }

    public void Thaw(string mountPoint)
    {
        lock (Events) Events.Add("thaw " + mountPoint);
        if (--_frozen == 0) AllThawed.TrySetResult();
    }

    public void Signal(int processId, int signal)
    {
        if (HyperSharp.Guest.Linux.Libc.kill(processId, signal) != 0) throw new IOException($"kill failed: {HyperSharp.Guest.Linux.Libc.LastError()}");
    }
}
