using HyperSharp.Guest;
using HyperSharp.Guest.Linux;
using HyperSharp.Integration.Protocol;

// hs-agent: connects to the host over vsock (CID 2, port 18515) and serves the integration services; reconnects
// whenever the connection ends (a host restart, a transport reset after save/restore). `hs-agent vsock ...` is a
// small socat-like tool for scripts and benchmarks (there is no vsock support in busybox).
if (args.Length > 0 && args[0] == "vsock") return VsockTool.Run(args[1..]);
if (args.Length > 0 && args[0] == "runas") return RunAs.Run(args[1..]);
uint port = AgentPort.Number;
int newest = ProtocolVersions.Current;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length && uint.TryParse(args[i + 1], out var p): port = p; i++; break;
        case "--protocol" when i + 1 < args.Length && int.TryParse(args[i + 1], out var v) && v is >= ProtocolVersions.Oldest and <= ProtocolVersions.Current: newest = v; i++; break;
        default:
            Console.Error.WriteLine($"usage: hs-agent [--port N] [--protocol {ProtocolVersions.Oldest}-{ProtocolVersions.Current}] | hs-agent vsock connect|listen PORT | hs-agent runas USER -- COMMAND [ARGS...]");
            return 2;
    }
}
AgentLog.Kernel($"hs-agent {AgentBuild.Version} starting (protocol {newest}, host port {port}, pid {Environment.ProcessId})");
// A one-vCPU guest starts the pool with one thread; a command's output pumps block in pipe reads, and the pool would
// add threads only after its starvation delay — which showed as ~70 ms of every exec round trip.
ThreadPool.SetMinThreads(8, 8);
var system = new LinuxGuestSystem();
var retry = TimeSpan.FromMilliseconds(200);
while (true)
{
    try
    {
        var socket = VsockSocket.Connect(VsockSocket.HostCid, port);
        retry = TimeSpan.FromMilliseconds(200);
        await using var channel = new FrameChannel(new SocketStream(socket));
        if (await new AgentSession(channel, system, newest).RunAsync())
        {
            await channel.DisposeAsync();
            system.Restart();
        }
        AgentLog.Info("the host closed the connection; reconnecting");
    }
    catch (Exception e) when (e is IOException or ProtocolException or System.Net.Sockets.SocketException or OperationCanceledException)
    {
        AgentLog.Info($"{e.Message}; retrying in {retry.TotalSeconds:F1} s");
        await Task.Delay(retry);
        retry = TimeSpan.FromSeconds(Math.Min(retry.TotalSeconds * 2, 5));
    }
}
