using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Integration.Protocol;
using HyperSharp.Machine;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Tests;
using HyperSharp.Networking.Frames;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;
using Xunit.Abstractions;

namespace HyperSharp.Integration.Tests.Guest;

/// <summary>
/// The stock Debian kernel's vsock driver on our virtio-vsock, with hs-agent (NativeAOT) in the kit guest on the
/// Emulated backend and the host's GuestAgentHost on the VM's vsock socket. One booted guest serves the whole
/// sequence, each step asserting its own outcome: negotiation, heartbeat, exec, the address the test sets appearing
/// in the guest's intrinsic items, a file copied in and checked by SHA-256 inside the guest, freeze/thaw of an ext4 on
/// virtio-blk, hostile connections refused, heartbeat lost within 10 s of killing the agent and back when it
/// restarts, the clock right within 1 s after a save and restore, and a clean shutdown through the agent.
/// </summary>
public class AgentOnEmulatedTests(ITestOutputHelper output)
{
    private readonly StringBuilder _console = new();
    private readonly List<string> _log = [];

    private string Console() { lock (_console) return _console.ToString(); }

    private string HostLog() { lock (_log) return string.Join("\n", _log); }

    private async Task<T> Within<T>(Task<T> task, double seconds, string what)
    {
        try { return await task.WaitAsync(TimeSpan.FromSeconds(seconds)); }
        catch (TimeoutException) { throw new Xunit.Sdk.XunitException($"{what}: nothing within {seconds} s\nhost log:\n{HostLog()}\nguest console:\n{Console()}"); }
    }

    private async Task Within(Task task, double seconds, string what) => await Within(task.ContinueWith(t => { t.GetAwaiter().GetResult(); return 0; }), seconds, what);

    private static async Task<(string Out, string Err, int Exit)> Exec(GuestAgent agent, string script, byte[]? stdin = null)
    {
        var command = await agent.StartAsync(["/bin/sh", "-c", script]);
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var exit = await command.RunAsync(stdin is null ? null : new MemoryStream(stdin), stdout, stderr);
        return (Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()), exit.ExitCode);
    }

    [Fact]
    public async Task TheAgentServesEachIntegrationService_OnTheDebianGuest()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var (agentKit, agentWhy) = AgentKit.Get();
        if (agentKit is null) { output.WriteLine("skipped: " + agentWhy); return; }
        if (!File.Exists("/usr/sbin/mkfs.ext4")) { output.WriteLine("skipped: e2fsprogs (mkfs.ext4) is not installed"); return; }
        string dir = Directory.CreateTempSubdirectory("hs-agent-guest").FullName;
        var sw = Stopwatch.StartNew();
        try
        {
            string raw = Path.Combine(dir, "data.raw"), vhdx = Path.Combine(dir, "data.vhdx");
            using (var f = File.Create(raw)) f.SetLength(32 << 20);
            GuestOverlay.Run("/usr/sbin/mkfs.ext4", "-q", "-F", raw);
            DiskConvert.Convert(raw, vhdx, new ConvertOptions { Format = DiskFormat.Vhdx, Type = DiskType.Dynamic });
            string initrd = AgentKit.Initrd(kit, agentKit, dir, new Dictionary<string, string>
            {
                ["50-data.sh"] = "mkdir -p /mnt/data && mount -t ext4 /dev/vda /mnt/data && echo TEST-DATA-MOUNTED\n",
            });
            string vsock = Path.Combine(dir, "vsock.sock");
            var mac = MacAddress.Parse("0A-48-53-13-00-05");
            var config = new VmConfig
            {
                KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = 256UL << 20, CommandLine = "console=ttyS0 hs.agent",
                Disks = [new DiskAttachment(vhdx)], NetworkAdapters = [new NetworkAdapterAttachment("eth0", mac)], Vsock = new VsockAttachment(vsock),
                ConsoleOutput = b => { lock (_console) _console.Append((char)b); }, Log = line => { lock (_log) _log.Add("vmm: " + line); },
            };
            var heartbeats = new List<(HeartbeatStatus Status, TimeSpan At)>();
            var heartbeatChanged = new SemaphoreSlim(0);
            await using var host = new GuestAgentHost(vsock, new GuestAgentHostOptions { HeartbeatTimeout = TimeSpan.FromSeconds(3) },
                line => { lock (_log) _log.Add(line); });
            host.HeartbeatChanged += s => { lock (heartbeats) heartbeats.Add((s, sw.Elapsed)); heartbeatChanged.Release(); };
            async Task<TimeSpan> HeartbeatBecomes(HeartbeatStatus status, double seconds)
            {
                var deadline = sw.Elapsed + TimeSpan.FromSeconds(seconds);
                while (true)
                {
                    lock (heartbeats) if (heartbeats.Count > 0 && heartbeats[^1].Status == status) return heartbeats[^1].At;
                    var left = deadline - sw.Elapsed;
                    if (left <= TimeSpan.Zero || !await heartbeatChanged.WaitAsync(left))
                        throw new Xunit.Sdk.XunitException($"heartbeat never became {status} within {seconds} s\nhost log:\n{HostLog()}\nguest console:\n{Console()}");
                }
            }

            var hypervisor = new EmulatedHypervisor();
            var vm = new VirtualMachineBuilder(hypervisor, config).Build();
            var run = Task.Run(vm.Run);
            try
            {
                // Negotiation and heartbeat.
                var agent = await Within(host.WaitForAgentAsync(), 900, "the agent connecting");
                output.WriteLine($"agent connected after {sw.Elapsed.TotalSeconds:F1} s: {agent.Peer.Software}, protocol {agent.Version}");
                Assert.Equal(ProtocolVersions.Current, agent.Version);
                Assert.Superset(new HashSet<string> { "Heartbeat", "Shutdown", "Time Synchronization", "Key-Value Pair Exchange", "VSS", "Guest Service Interface" },
                    agent.Peer.Services.ToHashSet());
                await HeartbeatBecomes(HeartbeatStatus.Ok, 60);

                // Exec: stdin in, stdout and stderr out, the exit code back.
                var t = Stopwatch.StartNew();
                var (o, e, code) = await Within(Exec(agent, "read x; echo \"out:$x\"; echo err >&2; exit 7", "ping\n"u8.ToArray()), 120, "exec");
                output.WriteLine($"exec round trip: {t.Elapsed.TotalMilliseconds:F0} ms");
                Assert.Equal(("out:ping\n", "err\n", 7), (o, e, code));

                // KVP: the address the test sets in the guest appears in the intrinsic items, with the adapter's MAC.
                Assert.Equal(0, (await Exec(agent, "ip addr add 10.99.13.5/24 dev eth0")).Exit);
                var info = await Within(agent.GetGuestInfoAsync(), 60, "guest info");
                var eth0 = Assert.Single(info.Adapters, a => a.Name == "eth0");
                Assert.Equal("0A-48-53-13-00-05", eth0.MacAddress);
                Assert.Contains("10.99.13.5", eth0.IPv4Addresses);
                var auto = await agent.GetKvpAsync(KvpPool.Auto);
                Assert.Contains("10.99.13.5", auto.Single(i => i.Key == "NetworkAddressIPv4").Value);
                await agent.SetKvpAsync("HyperSharpTest", "from the host");
                Assert.Contains("from the host", (await Exec(agent, "tr '\\0' '\\n' < /var/lib/hyperv/.kvp_pool_0 | grep -v '^$'")).Out);

                // Guest Service Interface: a random file copied in, its SHA-256 checked inside the guest.
                var data = RandomNumberGenerator.GetBytes(1 << 20);
                string source = Path.Combine(dir, "random.bin");
                await File.WriteAllBytesAsync(source, data);
                t.Restart();
                await Within(agent.CopyFileAsync(source, "/root/in/deep/random.bin", createFullPath: true, force: false), 300, "copy");
                output.WriteLine($"file copy: 1 MiB in {t.Elapsed.TotalSeconds:F2} s = {data.Length / t.Elapsed.TotalSeconds / 1e6:F2} MB/s");
                Assert.StartsWith(Convert.ToHexStringLower(SHA256.HashData(data)), (await Exec(agent, "sha256sum /root/in/deep/random.bin")).Out);
                await Assert.ThrowsAsync<GuestAgentException>(() => agent.CopyFileAsync(source, "/root/in/deep/random.bin", createFullPath: false, force: false));

                // VSS: the ext4 on virtio-blk frozen and thawed; the guest's log shows both.
                Assert.Contains("TEST-DATA-MOUNTED", Console());
                Assert.Contains("/mnt/data", await agent.FreezeAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("/mnt/data", await agent.ThawAsync());
                var dmesg = (await Exec(agent, "dmesg | grep hs-agent")).Out;
                Assert.Contains("froze /mnt/data", dmesg);
                Assert.Contains("thawed /mnt/data (the host asked)", dmesg);
                Assert.Equal(0, (await Exec(agent, "echo still-writable > /mnt/data/after-thaw && cat /mnt/data/after-thaw")).Exit);

                // Hostile: garbage to the host's agent port and a connection to a port nobody listens on; the agent stays.
                await Exec(agent, "echo garbage-instead-of-hello | /sbin/hs-agent vsock connect 18515");
                Assert.NotEqual(0, (await Exec(agent, "/sbin/hs-agent vsock connect 4444 < /dev/null")).Exit);
                Assert.Contains("guest agent connection refused", HostLog());
                Assert.Contains("nothing listens", HostLog());
                await agent.HeartbeatAsync();
                Assert.Same(agent, host.Agent);

                // Heartbeat: lost within 10 s of the agent dying; back when it restarts (the host starts it by connecting to port 5000).
                var killedAt = sw.Elapsed;
                try
                {
                    await Exec(agent, "setsid sh -c 'kill -9 $(pidof hs-agent); /sbin/hs-agent vsock listen 5000 </dev/null >/dev/null 2>&1; exec /sbin/hs-agent' "
                        + "</dev/null >/dev/null 2>&1 &");
                }
                catch (GuestAgentException) { } // the agent may die before it reports the command's end
                var lostAt = await HeartbeatBecomes(HeartbeatStatus.LostCommunication, 60);
                output.WriteLine($"heartbeat lost {(lostAt - killedAt).TotalSeconds:F2} s after the kill was requested");
                Assert.True(lostAt - killedAt < TimeSpan.FromSeconds(10), $"heartbeat lost after {(lostAt - killedAt).TotalSeconds:F1} s");
                await Within(RestartAgentThroughPort5000(vsock), 120, "waking the agent's restarter");
                agent = await Within(host.WaitForAgentAsync(), 120, "the restarted agent connecting");
                await HeartbeatBecomes(HeartbeatStatus.Ok, 60);

                // Time: the guest clock set wrong, the VM saved and restored; the agent reconnects and the clock is right within 1 s.
                Assert.Equal(0, (await Exec(agent, "date -s '2001-01-01 00:00:00' >/dev/null")).Exit);
                string state = Path.Combine(dir, "vm.state");
                vm.Pause();
                vm.Save(state, SavedVmConfig.From(config), hypervisor.Name);
                vm.Stop();
                await run;
                vm.Dispose();
                await HeartbeatBecomes(HeartbeatStatus.LostCommunication, 30);
                vm = VirtualMachineBuilder.Restore(hypervisor, state, config.ConsoleOutput, config.Log);
                run = Task.Run(vm.Run);
                agent = await Within(host.WaitForAgentAsync(), 300, "the agent reconnecting after the restore");
                await HeartbeatBecomes(HeartbeatStatus.Ok, 60);
                await Within(Task.Run(async () => { while (host.LastTimeOffset is not { } offset || offset > TimeSpan.FromDays(-365)) await Task.Delay(50); }), 60,
                    "the time sync after the restore");
                output.WriteLine($"after the restore the guest clock was {host.LastTimeOffset!.Value.TotalDays:F0} days off; set");
                // The guest's own clock read by `date` (whole seconds: busybox has no %N) lies within a second of the host's...
                var before = DateTimeOffset.UtcNow;
                long guestSeconds = long.Parse((await Exec(agent, "date +%s")).Out.Trim(), CultureInfo.InvariantCulture);
                var after = DateTimeOffset.UtcNow;
                output.WriteLine($"guest clock {guestSeconds}, host {before.ToUnixTimeMilliseconds() / 1000.0:F3}..{after.ToUnixTimeMilliseconds() / 1000.0:F3}");
                Assert.InRange(guestSeconds, before.ToUnixTimeSeconds() - 1, after.ToUnixTimeSeconds() + 1);
                // ...and the agent, measuring to the microsecond before it sets the clock again, finds it off by less than 1 s.
                var offset = await agent.SyncTimeAsync();
                output.WriteLine($"guest clock offset measured by the next sync: {offset.TotalMilliseconds:F1} ms");
                Assert.True(offset.Duration() < TimeSpan.FromSeconds(1), $"the guest clock is {offset.TotalMilliseconds:F0} ms off the host's");

                // Shutdown: clean, through the agent, and the guest's log says so.
                await agent.ShutdownAsync("test: clean shutdown");
                var stopped = await Within(run, 300, "the guest powering off");
                Assert.Equal(VmStopReason.PowerOff, stopped.Reason);
                Assert.Contains("hs-agent: clean shutdown requested by the host (test: clean shutdown)", Console());
                output.WriteLine($"whole sequence {sw.Elapsed.TotalSeconds:F1} s; heartbeats: {string.Join(", ", heartbeats.Select(h => $"{h.Status}@{h.At.TotalSeconds:F1}"))}");
            }
            finally
            {
                vm.Stop();
                await run;
                vm.Dispose();
                output.WriteLine("host log:\n" + HostLog());
                output.WriteLine("guest console:\n" + Console());
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Connects to guest port 5000 through the VM's socket until the restarter listens there (it refuses until then), then hangs up.</summary>
    private static async Task<bool> RestartAgentThroughPort5000(string vsock)
    {
        while (true)
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(vsock));
            await s.SendAsync("CONNECT 5000\n"u8.ToArray());
            var reply = new byte[32];
            int n = await s.ReceiveAsync(reply);
            if (n > 0 && Encoding.ASCII.GetString(reply, 0, n).StartsWith("OK ")) return true;
            await Task.Delay(100); // refused: the listener is not up yet
        }
    }
}
