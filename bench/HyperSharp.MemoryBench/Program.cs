using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine;

// The same Debian kit guest (1536 MiB, may grow to 2560 MiB) on our Emulated backend and on QEMU TCG, one after the other:
//   balloon reclaim: from asking for 1 GiB until the guest's MemTotal is 1 GiB lower (and the driver says it holds it)
//   deflate:         from asking for 0 until MemTotal is back
//   hot-add:         from asking for 1 GiB more (virtio-mem) until MemTotal is 1 GiB higher
// "host" runs the same steps through the host service's Set-VMMemory on a worker process (ThroughHost); "all" runs the three.
// Usage: HyperSharp.MemoryBench KIT_DIR [ours|qemu|host|both|all]
if (args.Length < 1) { Console.Error.WriteLine("usage: HyperSharp.MemoryBench KIT_DIR [ours|qemu|host|both|all]"); return 2; }
string kit = args[0], which = args.Length > 1 ? args[1] : "both";
const ulong Boot = 1536UL << 20, Grow = 1UL << 30, Reclaim = 1UL << 30;
const string CommandLine = "console=ttyS0 memhp_default_state=online_movable";
var timeout = TimeSpan.FromMinutes(30);
string dir = Directory.CreateTempSubdirectory("hs-memory-bench").FullName;
try
{
    string initrd = GuestScript.Initrd(kit, dir);
    var results = new List<(string Vmm, double Boot, double Reclaim, double Deflate, double Grow)>();
    if (which is "host" or "all") results.Add(await ThroughHost.RunAsync(kit, initrd, dir, Boot, Reclaim, timeout));
    if (which is "ours" or "both" or "all") results.Add(Ours());
    if (which is "qemu" or "both" or "all") results.Add(await Qemu());
    Console.WriteLine("\n| VMM | boot to script (s) | balloon reclaims 1 GiB (s) | deflate 1 GiB (s) | hot-add 1 GiB seen by guest (s) |\n|---|---:|---:|---:|---:|");
    foreach (var r in results) Console.WriteLine($"| {r.Vmm} | {r.Boot:F1} | {r.Reclaim:F2} | {r.Deflate:F2} | {r.Grow:F2} |");
    if (results.Count >= 2 && results[^1].Vmm.StartsWith("QEMU", StringComparison.Ordinal))
        foreach (var r in results.SkipLast(1))
            Console.WriteLine($"| {r.Vmm} / QEMU (time) | {r.Boot / results[^1].Boot:F2} | {r.Reclaim / results[^1].Reclaim:F2} | {r.Deflate / results[^1].Deflate:F2} | {r.Grow / results[^1].Grow:F2} |");
    return 0;

    (string, double, double, double, double) Ours()
    {
        var console = new ConsoleLines();
        var clock = Stopwatch.StartNew();
        using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
        {
            KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, MemorySize = Boot, CommandLine = "console=ttyS0", PciBridges = 0,
            RuntimeMemory = new RuntimeMemoryAttachment { MaximumSize = Boot + Grow, DeflateOnOutOfMemory = false },
            ConsoleOutput = console.Append,
        }).Build();
        var run = Task.Run(vm.Run);
        try
        {
            console.WaitFor("BENCH-READY", timeout);
            double boot = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"ours: guest up after {boot:F1} s");
            clock.Restart();
            vm.Balloon!.SetTarget(Reclaim);
            console.WaitFor("BENCH-INFLATED", timeout);
            SpinWait.SpinUntil(() => vm.Balloon.ActualBytes == Reclaim, timeout);
            double reclaim = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"ours: reclaimed 1 GiB in {reclaim:F2} s ({vm.Balloon.InflatedBytes >> 20} MiB given back to the host)");
            clock.Restart();
            vm.Balloon.SetTarget(0);
            console.WaitFor("BENCH-DEFLATED", timeout);
            double deflate = clock.Elapsed.TotalSeconds;
            clock.Restart();
            vm.HotAdd!.SetRequestedSize(Grow);
            console.WaitFor("BENCH-GREW", timeout);
            double grow = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"ours: deflated in {deflate:F2} s, 1 GiB hot-added in {grow:F2} s");
            return ("HyperSharp Emulated", boot, reclaim, deflate, grow);
        }
        finally
        {
            vm.Stop();
            run.Wait();
        }
    }

    async Task<(string, double, double, double, double)> Qemu()
    {
        string qmpPath = Path.Combine(dir, "qmp.sock");
        var psi = new ProcessStartInfo("qemu-system-x86_64")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        foreach (var a in new[]
        {
            "-accel", "tcg", "-M", "q35", "-cpu", "qemu64", "-m", $"{Boot >> 20}M,maxmem={(Boot + Grow) >> 20}M", "-nodefaults", "-nographic",
            "-serial", "stdio", "-no-reboot", "-kernel", Path.Combine(kit, "vmlinuz"), "-initrd", initrd, "-append", CommandLine,
            "-device", "virtio-balloon-pci,id=balloon0",
            "-object", $"memory-backend-ram,id=hotadd,size={Grow >> 20}M", "-device", "virtio-mem-pci,id=mem0,memdev=hotadd,block-size=2M,requested-size=0",
            "-qmp", $"unix:{qmpPath},server=on,wait=off",
        }) psi.ArgumentList.Add(a);
        var console = new ConsoleLines();
        var clock = Stopwatch.StartNew();
        using var qemu = Process.Start(psi)!;
        qemu.OutputDataReceived += (_, e) => { if (e.Data is { } l) console.AppendLine(l); };
        qemu.ErrorDataReceived += (_, e) => { if (e.Data is { } l) Console.Error.WriteLine("qemu: " + l); };
        qemu.BeginOutputReadLine();
        qemu.BeginErrorReadLine();
        try
        {
            console.WaitFor("BENCH-READY", timeout);
            double boot = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"qemu: guest up after {boot:F1} s");
            using var qmp = await Qmp.Connect(qmpPath);
            clock.Restart();
            await qmp.Execute("balloon", new JsonObject { ["value"] = Boot - Reclaim }); // QEMU's target is the guest's size
            console.WaitFor("BENCH-INFLATED", timeout);
            while ((ulong)(await qmp.Execute("query-balloon"))!["actual"]!.GetValue<long>() != Boot - Reclaim) await Task.Delay(10);
            double reclaim = clock.Elapsed.TotalSeconds;
            clock.Restart();
            await qmp.Execute("balloon", new JsonObject { ["value"] = Boot });
            console.WaitFor("BENCH-DEFLATED", timeout);
            double deflate = clock.Elapsed.TotalSeconds;
            clock.Restart();
            await qmp.Execute("qom-set", new JsonObject { ["path"] = "/machine/peripheral/mem0", ["property"] = "requested-size", ["value"] = Grow });
            console.WaitFor("BENCH-GREW", timeout);
            double grow = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"qemu: reclaimed 1 GiB in {reclaim:F2} s, deflated in {deflate:F2} s, 1 GiB hot-added in {grow:F2} s");
            return ($"QEMU TCG ({QemuVersion()})", boot, reclaim, deflate, grow);
        }
        finally
        {
            if (!qemu.HasExited) qemu.Kill();
            qemu.WaitForExit();
        }
    }

    static string QemuVersion()
    {
        using var p = Process.Start(new ProcessStartInfo("qemu-system-x86_64", "--version") { RedirectStandardOutput = true })!;
        return p.StandardOutput.ReadLine()?.Split(' ').ElementAtOrDefault(3) ?? "?";
    }
}
finally
{
    Directory.Delete(dir, true);
}

/// <summary>A QEMU Machine Protocol connection: one command at a time, events skipped.</summary>
internal sealed class Qmp : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    private Qmp(Socket socket)
    {
        _socket = socket;
        var stream = new NetworkStream(socket);
        (_reader, _writer) = (new StreamReader(stream, Encoding.UTF8), new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true });
    }

    public static async Task<Qmp> Connect(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var qmp = new Qmp(socket);
        await qmp._reader.ReadLineAsync(); // the greeting
        await qmp.Execute("qmp_capabilities");
        return qmp;
    }

    public async Task<JsonNode?> Execute(string command, JsonObject? arguments = null)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null) request["arguments"] = arguments;
        await _writer.WriteLineAsync(request.ToJsonString());
        while (true)
        {
            var reply = JsonNode.Parse(await _reader.ReadLineAsync() ?? throw new IOException("QMP closed"))!;
            if (reply["error"] is { } error) throw new InvalidOperationException($"QMP {command}: {error.ToJsonString()}");
            if (reply["return"] is { } result) return result;
        }
    }

    public void Dispose() => _socket.Dispose();
}
