using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;
using HyperSharp.Networking.Switching;
using HyperSharp.Networking.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests;

/// <summary>
/// The stock Debian kernel's virtio_net driver on our virtio-net, on the Emulated backend: a guest
/// on an Internal switch pings the switch's TAP inside a test namespace and moves data both ways
/// with busybox nc to servers the test runs there, checked by SHA-256; two guests on a Private
/// switch ping each other and move 2 MiB between them, and the test reports that throughput.
/// </summary>
public class LinuxNetworkingEmulatedTests(ITestOutputHelper output)
{
    private const int Bytes = 256 * 1024;

    private const string InternalScript = """
        ifconfig eth0 10.77.0.2 netmask 255.255.255.0 up
        echo "TEST-MAC $(cat /sys/class/net/eth0/address) driver=$(basename $(readlink /sys/class/net/eth0/device/driver))"
        if ping -c 2 -W 10 10.77.0.1 >/dev/null; then echo TEST-PING-OK; else echo TEST-PING-FAILED; fi
        dd if=/dev/urandom of=/tmp/up bs=1024 count=256 2>/dev/null
        echo "TEST-UP-SHA $(sha256sum /tmp/up | cut -d' ' -f1)"
        nc 10.77.0.1 7000 < /tmp/up
        nc 10.77.0.1 7001 > /tmp/down
        echo "TEST-DOWN-SHA $(sha256sum /tmp/down | cut -d' ' -f1) $(wc -c < /tmp/down)"
        """;

    [Fact]
    public async Task DebianGuest_OnAnInternalSwitch_PingsAndMovesDataToServersInANamespace()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var (ns, nsWhy) = NetworkNamespace.Create();
        if (ns is null) { output.WriteLine("skipped: " + nsWhy); return; }
        string dir = Directory.CreateTempSubdirectory("hs-net").FullName;
        using (ns)
        {
            try
            {
                using var vs = await ns.Enter(() => HostedSwitch.Start(new SwitchConfiguration { Name = "lab", Type = SwitchType.Internal, HostInterfaceName = "hsg0" }));
                ns.Ip("addr", "add", "10.77.0.1/24", "dev", "hsg0");
                var (upload, download) = await ns.Enter(() => (Listen(7000), Listen(7001)));
                using var _u = upload.Server; using var _d = download.Server;
                byte[] toGuest = RandomNumberGenerator.GetBytes(Bytes);
                var received = ReceiveAll(upload, Bytes);
                var sent = SendAll(download, toGuest);

                var mac = MacAddress.Parse("0A-48-53-77-00-02");
                var adapter = new NetworkAdapterAttachment("eth0", mac, "lab", () =>
                {
                    var (switchEnd, adapterEnd) = InProcessLink.CreatePair("eth0");
                    vs.AddPort("vm", switchEnd, new PortSettings { MacAddress = mac });
                    return adapterEnd;
                });
                var (log, elapsed) = await RunGuest(kit, dir, "a", InternalScript, adapter, TimeSpan.FromSeconds(300));
                Assert.Contains("TEST-MAC 0a:48:53:77:00:02 driver=virtio_net", log);
                Assert.Contains("TEST-PING-OK", log);
                // The guest is off: whatever it sent has arrived or never will, so a transfer that never connected fails
                // now (with the console) instead of waiting for ever on an accept.
                var (uploaded, uploadTime) = await AfterPowerOff(received, "the upload to port 7000", log);
                var downloadTime = await AfterPowerOff(sent, "the download from port 7001", log);
                Assert.Equal(Sha(uploaded), Regex.Match(log, "TEST-UP-SHA ([0-9a-f]{64})").Groups[1].Value);
                Assert.Contains($"TEST-DOWN-SHA {Sha(toGuest)} {Bytes}", log);
                var port = vs.Ports.Single(p => p.Name == "vm");
                output.WriteLine($"guest up {Bytes / uploadTime.TotalSeconds / 1e6:F2} MB/s, down {Bytes / downloadTime.TotalSeconds / 1e6:F2} MB/s (Emulated backend); "
                    + $"port: {port.Counters.ReceivedFrames} frames in, {port.Counters.SentFrames} out; whole run {elapsed.TotalSeconds:F1} s");
            }
            finally { Directory.Delete(dir, true); }
        }
    }

    [Fact]
    public async Task TwoDebianGuests_OnAPrivateSwitch_PingAndMoveDataWithEachOther()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-net2").FullName;
        try
        {
            using var vs = new VirtualSwitch("private", SwitchType.Private);
            NetworkAdapterAttachment Adapter(string port, MacAddress mac) => new("eth0", mac, "private", () =>
            {
                var (switchEnd, adapterEnd) = InProcessLink.CreatePair(port);
                vs.AddPort(port, switchEnd, new PortSettings { MacAddress = mac });
                return adapterEnd;
            });
            const string listener = """
                ifconfig eth0 10.78.0.1 netmask 255.255.255.0 up
                nc -l -p 7000 > /dev/null
                nc -l -p 7001 > /tmp/in
                echo "TEST-GOT-SHA $(sha256sum /tmp/in | cut -d' ' -f1) $(wc -c < /tmp/in)"
                """;
            const string sender = """
                ifconfig eth0 10.78.0.2 netmask 255.255.255.0 up
                dd if=/dev/urandom of=/tmp/out bs=1024 count=2048 2>/dev/null
                echo "TEST-SENT-SHA $(sha256sum /tmp/out | cut -d' ' -f1)"
                # The two guests boot at their own pace: wait for the listener's first port (a refused connect fails at
                # once and sends nothing), so the other guest is up and addressed before it is pinged. The listener
                # opens 7001 only after that probe closed 7000, so the transfer retries until it is accepted too.
                i=0; until nc 10.78.0.1 7000 < /dev/null; do i=$((i+1)); [ $i -gt 600 ] && break; sleep 1; done
                if ping -c 2 -W 10 10.78.0.1 >/dev/null; then echo TEST-PING-OK; else echo TEST-PING-FAILED; fi
                start=$(cut -d' ' -f1 /proc/uptime)
                i=0; until nc 10.78.0.1 7001 < /tmp/out; do i=$((i+1)); [ $i -gt 600 ] && break; sleep 1; done
                [ $i -le 600 ] && echo "TEST-SENT-IN $start $(cut -d' ' -f1 /proc/uptime)"
                """;
            // The listener only powers off once the sender's data arrived: if the sender powers off without having
            // sent it, stop the listener at once and fail with both consoles rather than wait out the timeout.
            using var stopListener = new CancellationTokenSource();
            var a = RunGuest(kit, dir, "a", listener, Adapter("a", MacAddress.Parse("0A-48-53-78-00-01")), TimeSpan.FromSeconds(780), stopListener.Token);
            var b = RunGuest(kit, dir, "b", sender, Adapter("b", MacAddress.Parse("0A-48-53-78-00-02")), TimeSpan.FromSeconds(780));
            var (logB, _) = await b;
            if (!logB.Contains("TEST-SENT-IN")) stopListener.Cancel();
            var (logA, _) = await a;
            Assert.True(logB.Contains("TEST-SENT-IN"), $"the sender powered off without sending its data:\n{logB}\nlistener:\n{logA}");
            Assert.Contains("TEST-PING-OK", logB);
            string sha = Regex.Match(logB, "TEST-SENT-SHA ([0-9a-f]{64})").Groups[1].Value;
            Assert.Contains($"TEST-GOT-SHA {sha} {2 << 20}", logA);
            var times = Regex.Match(logB, @"TEST-SENT-IN ([0-9.]+) ([0-9.]+)");
            double seconds = double.Parse(times.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) - double.Parse(times.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            output.WriteLine($"guest to guest over the Private switch: 2 MiB in {seconds:F2} s = {(2 << 20) / Math.Max(seconds, 0.01) / 1e6:F2} MB/s (Emulated backend, both guests in this process)");
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// Boots a kit guest running <paramref name="script"/> until it powers off; <paramref name="abandon"/> turns it
    /// off early (its console is returned either way, and the power-off assertion is skipped then).
    /// </summary>
    private async Task<(string Log, TimeSpan Elapsed)> RunGuest(string kit, string dir, string name, string script, NetworkAdapterAttachment adapter, TimeSpan timeout,
        CancellationToken abandon = default)
    {
        string initrd = GuestOverlay.Build(kit, Directory.CreateDirectory(Path.Combine(dir, name)).FullName, new Dictionary<string, string> { ["50-net.sh"] = script });
        var console = new StringBuilder();
        using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
        {
            KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = 256UL << 20, CommandLine = "console=ttyS0",
            NetworkAdapters = [adapter], ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
        }).Build();
        var sw = Stopwatch.StartNew();
        var run = Task.Run(vm.Run);
        bool finished = await Task.WhenAny(run, Task.Delay(timeout, abandon).ContinueWith(_ => { })) == run;
        if (!finished) { vm.Stop(); await run; }
        string log;
        lock (console) log = console.ToString();
        output.WriteLine($"guest {name}, {sw.Elapsed.TotalSeconds:F1} s:\n{log}");
        if (abandon.IsCancellationRequested) return (log, sw.Elapsed);
        Assert.True(finished, $"guest {name} did not power off within {timeout.TotalSeconds} s:\n{log}");
        Assert.Equal(VmStopReason.PowerOff, (await run).Reason);
        return (log, sw.Elapsed);
    }

    /// <summary>A transfer's result once its guest is off: it has arrived or never will, so a missing one fails with the console.</summary>
    private static async Task<T> AfterPowerOff<T>(Task<T> transfer, string what, string console)
    {
        if (await Task.WhenAny(transfer, Task.Delay(TimeSpan.FromSeconds(60))) != transfer)
            Assert.Fail($"the guest powered off without completing {what}; its console:\n{console}");
        return await transfer;
    }

    private static (TcpListener Server, int Port) Listen(int port)
    {
        var listener = new TcpListener(IPAddress.Parse("10.77.0.1"), port);
        listener.Start();
        return (listener, port);
    }

    private static async Task<(byte[] Data, TimeSpan Time)> ReceiveAll((TcpListener Server, int Port) server, int bytes)
    {
        using var client = await server.Server.AcceptTcpClientAsync();
        var sw = Stopwatch.StartNew();
        var data = new byte[bytes];
        var stream = client.GetStream();
        int have = 0;
        while (have < bytes)
        {
            int n = await stream.ReadAsync(data.AsMemory(have));
            if (n == 0) break;
            have += n;
        }
        return (data[..have], sw.Elapsed);
    }

    private static async Task<TimeSpan> SendAll((TcpListener Server, int Port) server, byte[] data)
    {
        using var client = await server.Server.AcceptTcpClientAsync();
        var sw = Stopwatch.StartNew();
        var stream = client.GetStream();
        await stream.WriteAsync(data);
        client.Client.Shutdown(SocketShutdown.Send);
        // Wait for the guest to close its side, so every byte was read before we go.
        var sink = new byte[64];
        while (await stream.ReadAsync(sink) > 0) { }
        return sw.Elapsed;
    }

    private static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
