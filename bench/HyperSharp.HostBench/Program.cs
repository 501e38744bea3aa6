using System.Diagnostics;
using System.Globalization;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Host;
using HyperSharp.Host.Tests;
using HyperSharp.HostBench;

// The host service's figures, issue 4: start latency (API call to the guest's first output, and to the
// Debian guest's /init), Get-VM over 1,000 registered VMs, 100 VMs created and started back to back on the
// Emulated backend, and what a worker process costs beyond its guest's RAM, beside a QEMU process running
// the same small guest. Usage: HyperSharp.HostBench [--registered 1000] [--started 100] [--kit DIR] [--qemu PATH]
string Option(string name, string fallback) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback; }
int registered = int.Parse(Option("--registered", "1000"), CultureInfo.InvariantCulture);
int started = int.Parse(Option("--started", "100"), CultureInfo.InvariantCulture);
int starts = int.Parse(Option("--starts", "5"), CultureInfo.InvariantCulture);
int adapters = int.Parse(Option("--adapters", "0"), CultureInfo.InvariantCulture);
string? kit = Option("--kit", "") is { Length: > 0 } k ? k : null;
string? qemu = Option("--qemu", "") is { Length: > 0 } q ? q : null;
const long SmallGuestRam = 64L << 20, DebianRam = 256L << 20;

string root = Directory.CreateDirectory(Path.Combine("/tmp", "hs-bench-" + Guid.NewGuid().ToString("N")[..8])).FullName;
string tinyElf = Path.Combine(root, "tiny.elf"), tinyMultiboot = Path.Combine(root, "tiny.mb");
File.WriteAllBytes(tinyElf, Guests.Elf());
File.WriteAllBytes(tinyMultiboot, Guests.Multiboot());
var rows = new List<(string Measure, string Ours, string Qemu)>();
var host = await HostServer.StartAsync(new HostServerOptions
{
    InventoryRoot = Path.Combine(root, "vms"), SocketPath = Path.Combine(root, "host.sock"),
    WorkerCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "hyper.dll")],
});
using var channel = HostEndpoint.Connect(Path.Combine(root, "host.sock"));
var client = new VmHost.VmHostClient(channel);
try
{
    // 1. Start latency with the small guest, --starts cold starts (each a new worker process).
    await client.CreateVmAsync(new CreateVmRequest { Name = "latency", MemoryStartupBytes = SmallGuestRam, Backend = "emulated", Boot = new BootSource { KernelPath = tinyElf } });
    // --adapters N: that many network adapters on a private switch, each of which needs its switch port at start.
    if (adapters > 0) await client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "bench", SwitchType = SwitchType.Private });
    for (int i = 0; i < adapters; i++) await client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = new VmRef { Name = "latency" }, Name = $"nic{i}", SwitchName = "bench" });
    var toRunning = new List<double>(); var toOutput = new List<double>();
    for (int i = 0; i < starts; i++)
    {
        var clock = Stopwatch.StartNew();
        await client.StartVmAsync(new VmRef { Name = "latency" });
        toRunning.Add(clock.Elapsed.TotalMilliseconds);
        string console = await GuestConsole.ReadAsync(client, "latency", t => t.Contains('!'), TimeSpan.FromSeconds(60));
        if (!console.Contains('!')) throw new InvalidOperationException("the small guest printed nothing");
        toOutput.Add(clock.Elapsed.TotalMilliseconds);
        await client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "latency" }, TurnOff = true });
    }
    rows.Add(($"StartVm: API call to Running, {adapters} adapters (median of {starts} cold starts; min {toRunning.Min():F1}, max {toRunning.Max():F1})", Ms(Median(toRunning)), ""));
    rows.Add(($"API call to the guest's first output (median of {starts}; console read after Running, so an upper bound)", Ms(Median(toOutput)), ""));

    // 2. The Debian guest to /init, and what its worker costs beside QEMU running the same kernel and initramfs.
    if (kit is not null)
    {
        await client.CreateVmAsync(new CreateVmRequest
        {
            Name = "debian", MemoryStartupBytes = DebianRam, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = Path.Combine(kit, "initrd.img"), KernelCommandLine = "console=ttyS0 hs.shell" },
        });
        var clock = Stopwatch.StartNew();
        var vm = await client.StartVmAsync(new VmRef { Name = "debian" });
        string console = await GuestConsole.ReadAsync(client, "debian", t => t.Contains("HYPERSHARP-INIT-READY"), TimeSpan.FromSeconds(600));
        if (!console.Contains("HYPERSHARP-INIT-READY")) throw new InvalidOperationException("the Debian guest did not reach /init");
        double toInit = clock.Elapsed.TotalSeconds;
        var ours = ProcessMemory.Measure(vm.WorkerPid, DebianRam);
        await client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "debian" }, TurnOff = true });
        string qemuInit = "", qemuOverhead = "";
        if (qemu is not null)
        {
            var (seconds, memory) = await Qemu.RunUntilAsync(qemu, DebianRam, "HYPERSHARP-INIT-READY",
                ["-kernel", Path.Combine(kit, "vmlinuz"), "-initrd", Path.Combine(kit, "initrd.img"), "-append", "console=ttyS0 hs.shell"]);
            (qemuInit, qemuOverhead) = ($"{seconds:F2} s (QEMU TCG, process start to /init)", MiB(memory.OverheadBytes));
        }
        rows.Add(("Debian guest, API call to /init (Emulated, 256 MiB)", $"{toInit:F2} s", qemuInit));
        rows.Add(("VMM memory beyond guest RAM at /init, Debian guest", MiB(ours.OverheadBytes), qemuOverhead));
    }

    // 3. Get-VM over many registered VMs (--registered 0: the start latency alone).
    if (registered > 0)
    {
        var clockCreate = Stopwatch.StartNew();
        for (int i = 0; i < registered; i++)
            await client.CreateVmAsync(new CreateVmRequest { Name = $"vm{i:D4}", MemoryStartupBytes = SmallGuestRam, Backend = "emulated", Boot = new BootSource { KernelPath = tinyElf } });
        double createMs = clockCreate.Elapsed.TotalMilliseconds;
        var list = new List<double>(); var get = new List<double>();
        int listed = 0;
        for (int i = 0; i < 20; i++)
        {
            var c = Stopwatch.StartNew();
            listed = (await client.ListVmsAsync(new ListVmsRequest())).Vms.Count;
            list.Add(c.Elapsed.TotalMilliseconds);
            c.Restart();
            await client.GetVmAsync(new VmRef { Name = $"vm{i * registered / 20:D4}" });
            get.Add(c.Elapsed.TotalMilliseconds);
        }
        rows.Add(($"New-VM x {registered} (API, one after another)", $"{createMs / 1000:F1} s ({createMs / registered:F1} ms each)", ""));
        rows.Add(($"Get-VM listing {listed} VMs (ListVms, median of 20)", Ms(Median(list)), ""));
        rows.Add(("Get-VM -Name one of them (GetVm, median of 20)", Ms(Median(get)), ""));

        // 4. Many VMs started back to back, within what this host's memory allows.
        long available = MemAvailable();
        int fit = (int)Math.Min(Math.Min(started, registered), (available - (2L << 30)) / (200L << 20));
        if (fit < started) Console.Error.WriteLine($"starting {fit} VMs, not {started}: {available >> 20} MiB available, about 200 MiB per VM with margin");
        var clockStart = Stopwatch.StartNew();
        var workers = new List<int>();
        for (int i = 0; i < fit; i++) workers.Add((await client.StartVmAsync(new VmRef { Name = $"vm{i:D4}" })).WorkerPid);
        double startMs = clockStart.Elapsed.TotalMilliseconds;
        await Task.Delay(2000); // let the last workers settle after their start-up work
        var overheads = workers.Select(pid => ProcessMemory.Measure(pid, SmallGuestRam)).ToList();
        rows.Add(($"{fit} VMs started back to back (small guest, Emulated)", $"{startMs / 1000:F1} s ({startMs / Math.Max(fit, 1):F0} ms each)", ""));
        string qemuSmall = "";
        if (qemu is not null)
        {
            var qemuOverheads = new List<double>();
            for (int i = 0; i < 5; i++)
                qemuOverheads.Add((await Qemu.RunUntilAsync(qemu, SmallGuestRam, "!", ["-kernel", tinyMultiboot])).Memory.OverheadBytes);
            qemuSmall = MiB((long)Median(qemuOverheads)) + " (median of 5)";
        }
        rows.Add(("Memory beyond guest RAM per VM, small guest (median)", MiB((long)Median(overheads.Select(o => (double)o.OverheadBytes).ToList())), qemuSmall));
        rows.Add(("Resident memory per worker, small guest (median)", MiB((long)Median(overheads.Select(o => (double)o.ResidentBytes).ToList())), ""));
        var clockStop = Stopwatch.StartNew();
        for (int i = 0; i < fit; i++) await client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = $"vm{i:D4}" }, TurnOff = true });
        rows.Add(($"Stop-VM -TurnOff x {fit}", $"{clockStop.Elapsed.TotalSeconds:F1} s", ""));
    }
}
finally
{
    // Workers outlive a host on purpose; a bench leaves none behind.
    foreach (var vm in (await client.ListVmsAsync(new ListVmsRequest())).Vms.Where(v => v.WorkerPid > 0))
        try { using var p = Process.GetProcessById(vm.WorkerPid); p.Kill(); await p.WaitForExitAsync(); } catch (ArgumentException) { }
    await host.DisposeAsync();
    Directory.Delete(root, recursive: true);
}

Console.WriteLine($"\n| host service ({Environment.ProcessorCount} cores) | HyperSharp | QEMU |\n|---|---:|---:|");
foreach (var (measure, ours, other) in rows) Console.WriteLine($"| {measure} | {ours} | {other} |");
return 0;

static double Median(List<double> values) { values.Sort(); return values.Count == 0 ? 0 : values[values.Count / 2]; }
static string Ms(double ms) => $"{ms:F1} ms";
static string MiB(long bytes) => $"{bytes / 1048576.0:F0} MiB";
static long MemAvailable() => long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) << 10;
