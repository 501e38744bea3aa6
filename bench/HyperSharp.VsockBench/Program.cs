using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Integration;
using HyperSharp.Machine;
using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;
using HyperSharp.Networking.Switching;
using HyperSharp.Networking.Tests;

// One Debian kit guest on the Emulated backend with the agent on virtio-vsock and a virtio-net adapter on an Internal
// switch whose TAP lives in a network namespace made for this run. The same work both ways, side by side:
//   exec round trip:  the agent's exec of `sh -c true`   vs  a TCP connection to `nc -l -p 7100 -e sh` sending "true; exit"
//   copy into guest:  Copy-VMFile through the agent (SHA-256 checked, fsync'd), a raw vsock stream (`hs-agent vsock listen`),
//                     and TCP to `nc -l -p 7101` over virtio-net
//   heartbeat loss:   time from killing the agent to the host's Lost Communication
// Usage: HyperSharp.VsockBench KIT_DIR AGENT_DIR [MiB] [rounds]
if (args.Length < 2) { Console.Error.WriteLine("usage: HyperSharp.VsockBench KIT_DIR AGENT_DIR [MiB] [rounds]"); return 2; }
string kit = args[0], agentKit = args[1];
int mib = args.Length > 2 ? int.Parse(args[2]) : 4, rounds = args.Length > 3 ? int.Parse(args[3]) : 15;
var (ns, why) = NetworkNamespace.Create();
if (ns is null) { Console.Error.WriteLine("cannot run: " + why); return 2; }
string dir = Directory.CreateTempSubdirectory("hs-vsock-bench").FullName;
var console = new StringBuilder();
try
{
    using (ns)
    {
        using var vs = await ns.Enter(() => HostedSwitch.Start(new SwitchConfiguration { Name = "bench", Type = SwitchType.Internal, HostInterfaceName = "hsb0" }));
        ns.Ip("addr", "add", "10.79.0.1/24", "dev", "hsb0");
        var mac = MacAddress.Parse("0A-48-53-79-00-02");
        var nic = new NetworkAdapterAttachment("eth0", mac, "bench", () =>
        {
            var (switchEnd, adapterEnd) = InProcessLink.CreatePair("eth0");
            vs.AddPort("vm", switchEnd, new PortSettings { MacAddress = mac });
            return adapterEnd;
        });
        string initrd = Path.Combine(dir, "initrd.img");
        Overlay(kit, agentKit, dir, initrd, "ifconfig eth0 10.79.0.2 netmask 255.255.255.0 up\n");
        string vsock = Path.Combine(dir, "vsock.sock");
        await using var host = new GuestAgentHost(vsock);
        var lost = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        host.HeartbeatChanged += s => { if (s == HeartbeatStatus.LostCommunication) lost.TrySetResult(clock.Elapsed); };
        using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
        {
            KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = 256UL << 20, CommandLine = "console=ttyS0 hs.agent",
            NetworkAdapters = [nic], Vsock = new VsockAttachment(vsock), ConsoleOutput = b => { lock (console) console.Append((char)b); },
        }).Build();
        var run = Task.Run(vm.Run);
        var agent = await host.WaitForAgentAsync().WaitAsync(TimeSpan.FromMinutes(15));
        Console.WriteLine($"guest up, agent connected after {clock.Elapsed.TotalSeconds:F1} s (protocol {agent.Version})");
        await Exec(agent, "true"); // warm the guest's page cache for sh

        // Exec round trip.
        var vsockRtt = new List<double>();
        for (int i = 0; i < rounds; i++) { var sw = Stopwatch.StartNew(); await Exec(agent, "true"); vsockRtt.Add(sw.Elapsed.TotalMilliseconds); }
        var heartbeatRtt = new List<double>();
        for (int i = 0; i < rounds; i++) heartbeatRtt.Add((await agent.HeartbeatAsync()).TotalMilliseconds);
        var ncServer = agent.StartAsync(["/bin/sh", "-c", "nc -ll -p 7100 -e /bin/sh"]);
        var netRtt = await ns.Enter(() =>
        {
            var times = new List<double>();
            for (int i = 0; i < rounds; i++)
            {
                var sw = Stopwatch.StartNew();
                using var c = ConnectWithRetry(new IPEndPoint(IPAddress.Parse("10.79.0.2"), 7100));
                c.Send("true; echo done; exit\n"u8);
                var buf = new byte[64];
                int have = 0;
                while (!Encoding.ASCII.GetString(buf, 0, have).Contains("done")) { int n = c.Receive(buf, have, buf.Length - have, SocketFlags.None); if (n == 0) break; have += n; }
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            return times;
        });

        // Copy into the guest.
        var data = RandomNumberGenerator.GetBytes(mib << 20);
        string file = Path.Combine(dir, "payload.bin");
        await File.WriteAllBytesAsync(file, data);
        var copyTime = Stopwatch.StartNew();
        await agent.CopyFileAsync(file, "/tmp/copy.bin", createFullPath: false, force: true);
        double copySeconds = copyTime.Elapsed.TotalSeconds;
        double rawSeconds = await RawVsock(agent, vsock, data);
        double netSeconds = await NetCopy(agent, ns, data);
        string sizes = (await Exec(agent, "wc -c < /tmp/copy.bin; wc -c < /tmp/vsock.bin; wc -c < /tmp/net.bin")).Replace('\n', ' ');

        // Heartbeat-loss detection.
        var killedAt = clock.Elapsed;
        try { await Exec(agent, "setsid sh -c 'kill -9 $(pidof hs-agent)' </dev/null >/dev/null 2>&1 &"); } catch (GuestAgentException) { }
        var lostAt = await lost.Task.WaitAsync(TimeSpan.FromMinutes(2));

        double Median(List<double> v) { v.Sort(); return v[v.Count / 2]; }
        double MBps(double seconds) => data.Length / seconds / 1e6;
        Console.WriteLine($"bytes received in the guest (copy, vsock, net): {sizes}");
        Console.WriteLine();
        Console.WriteLine("| measure (Emulated backend, one guest, one run) | vsock | virtio-net (busybox nc) | vsock / net |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| exec round trip, median of {rounds} (`sh -c true`) | {Median(vsockRtt):F0} ms | {Median(netRtt):F0} ms | {Median(vsockRtt) / Median(netRtt):F2} |");
        Console.WriteLine($"| agent request round trip (heartbeat), median of {rounds} | {Median(heartbeatRtt):F1} ms | | |");
        Console.WriteLine($"| {mib} MiB into the guest, raw stream | {MBps(rawSeconds):F2} MB/s | {MBps(netSeconds):F2} MB/s | {netSeconds / rawSeconds:F2}× |");
        Console.WriteLine($"| {mib} MiB Copy-VMFile (SHA-256 checked, fsync'd) | {MBps(copySeconds):F2} MB/s | (nc: {MBps(netSeconds):F2} MB/s, unchecked) | {netSeconds / copySeconds:F2}× |");
        Console.WriteLine($"| heartbeat-loss detection after the agent is killed | {(lostAt - killedAt).TotalSeconds:F2} s | | |");
        vm.Stop();
        await run;
        _ = ncServer;
        return 0;
    }
}
catch (Exception e)
{
    Console.Error.WriteLine($"bench failed: {e.Message}\nguest console:\n{console}");
    return 1;
}
finally { Directory.Delete(dir, true); }

static async Task<string> Exec(GuestAgent agent, string script)
{
    var command = await agent.StartAsync(["/bin/sh", "-c", script]);
    var output = new MemoryStream();
    var exit = await command.RunAsync(null, output, Stream.Null);
    if (exit.ExitCode != 0) throw new InvalidOperationException($"`{script}` exited {exit.ExitCode}");
    return Encoding.UTF8.GetString(output.ToArray());
}

// The guest listens with the agent's socat-like tool; the host streams through the VM's socket (CONNECT 7102).
static async Task<double> RawVsock(GuestAgent agent, string vsock, byte[] data)
{
    var receiver = await agent.StartAsync(["/bin/sh", "-c", "/sbin/hs-agent vsock listen 7102 > /tmp/vsock.bin"]);
    var receiving = receiver.RunAsync(null, Stream.Null, Stream.Null);
    Socket s;
    while (true)
    {
        s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(vsock));
        await s.SendAsync("CONNECT 7102\n"u8.ToArray());
        var reply = new byte[32];
        int n = await s.ReceiveAsync(reply);
        if (n > 0 && reply[0] == (byte)'O') break;
        s.Dispose();
        await Task.Delay(50); // refused: the listener is not up yet
    }
    var sw = Stopwatch.StartNew();
    using (s)
    {
        await s.SendAsync(data);
        s.Shutdown(SocketShutdown.Send);
        while (await s.ReceiveAsync(new byte[64]) > 0) { }
    }
    await receiving;
    return sw.Elapsed.TotalSeconds;
}

static async Task<double> NetCopy(GuestAgent agent, NetworkNamespace ns, byte[] data)
{
    var receiver = await agent.StartAsync(["/bin/sh", "-c", "nc -l -p 7101 > /tmp/net.bin"]);
    var receiving = receiver.RunAsync(null, Stream.Null, Stream.Null);
    var sw = await ns.Enter(() =>
    {
        using var c = ConnectWithRetry(new IPEndPoint(IPAddress.Parse("10.79.0.2"), 7101));
        var timer = Stopwatch.StartNew();
        c.Send(data);
        c.Shutdown(SocketShutdown.Send);
        return timer;
    });
    await receiving;
    return sw.Elapsed.TotalSeconds;
}

static Socket ConnectWithRetry(IPEndPoint to)
{
    for (int i = 0; ; i++)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try { s.Connect(to); return s; }
        catch (SocketException) when (i < 200) { s.Dispose(); Thread.Sleep(50); } // refused: the guest's nc is not listening yet
    }
}

static void Overlay(string kit, string agentKit, string dir, string initrd, string script)
{
    string root = Path.Combine(dir, "overlay");
    Directory.CreateDirectory(Path.Combine(root, "init.d"));
    File.WriteAllText(Path.Combine(root, "init.d", "50-net.sh"), script);
    string archive = Path.Combine(dir, "overlay.cpio.gz");
    using (var p = Process.Start("sh", ["-c", $"cd '{root}' && find . | cpio -o -H newc --quiet -R 0:0 | gzip > '{archive}'"])) p.WaitForExit();
    using var output = File.Create(initrd);
    foreach (var part in new[] { Path.Combine(kit, "initrd.img"), Path.Combine(agentKit, "agent.cpio.gz"), archive })
        using (var input = File.OpenRead(part)) input.CopyTo(output);
}
