using System.Diagnostics;
using System.Globalization;
using System.Net;
using HyperSharp.Host;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Web;

// The web console's page latency, issue 21: a host with --registered VMs (off: registered, never started), its web
// console on a loopback port, and a logged-in HTTP client timing the pages a person opens: the host page with the
// whole VM list, one VM's page, the New VM form, the switch manager, the charts' data, and the event stream's first
// snapshot of every row.
// Usage: HyperSharp.WebBench [--registered 1000] [--runs 50]
string Option(string name, string fallback) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback; }
int registered = int.Parse(Option("--registered", "1000"), CultureInfo.InvariantCulture);
int runs = int.Parse(Option("--runs", "50"), CultureInfo.InvariantCulture);

string root = Directory.CreateDirectory(Path.Combine("/tmp", "hs-webbench-" + Guid.NewGuid().ToString("N")[..8])).FullName;
var host = await HostServer.StartAsync(new HostServerOptions { InventoryRoot = root, SocketPath = Path.Combine(root, "host.sock") });
WebConsole? web = null;
try
{
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < registered; i++)
        host.Manager.Configuration.Create(new NewVm($"vm-{i:D4}") { MemoryStartupBytes = 64L << 20, Backend = "emulated" }, ClientIdentity.Root);
    Console.WriteLine($"{registered} VMs registered in {clock.Elapsed.TotalSeconds:F1} s");
    web = await WebConsole.StartAsync(new WebConsoleOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0), InventoryRoot = root }, host);
    using var client = new HttpClient { BaseAddress = web.Address };
    (await client.GetAsync(web.LoginAddress)).EnsureSuccessStatusCode();
    string one = $"/vms/{host.Manager.List(null)[registered / 2].Id:D}";

    Console.WriteLine($"| page | median | p95 | max | bytes |");
    Console.WriteLine($"|---|---|---|---|---|");
    for (int i = 0; i < 20; i++) host.Manager.Networking.CreateSwitch(new NewSwitch($"switch-{i:D2}", HyperSharp.Api.V1.SwitchType.Private, "", "", ""));
    foreach (var (label, path) in new[]
    {
        ("host page, VM list of all", "/"), ("one VM's page", one), ("New VM form", "/vms/new"), ("switch manager (20 switches)", "/switches"),
        ("usage of all VMs (chart data)", "/usage"), ("a static file (app.js)", "/static/app.js"),
    })
        Report(label, await TimeAsync(client, path, runs));
    Report("event stream: every row", await TimeStreamAsync(client, registered, Math.Min(runs, 10)));
}
finally
{
    if (web is not null) await web.DisposeAsync();
    await host.DisposeAsync();
    Directory.Delete(root, recursive: true);
}

static async Task<(List<double> Ms, long Bytes)> TimeAsync(HttpClient client, string path, int runs)
{
    var times = new List<double>();
    long bytes = 0;
    for (int i = 0; i < runs + 3; i++) // the first three warm the JIT and are not counted
    {
        var t = Stopwatch.StartNew();
        var body = await client.GetByteArrayAsync(path);
        if (i >= 3) times.Add(t.Elapsed.TotalMilliseconds);
        bytes = body.Length;
    }
    return (times, bytes);
}

// Until the last of the first snapshot's rows has arrived: what a page waits for before it is live.
static async Task<(List<double> Ms, long Bytes)> TimeStreamAsync(HttpClient client, int rows, int runs)
{
    var times = new List<double>();
    long bytes = 0;
    for (int i = 0; i < runs + 1; i++)
    {
        var t = Stopwatch.StartNew();
        using var response = await client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        int seen = 0;
        bytes = 0;
        while (seen < rows && await reader.ReadLineAsync() is { } line)
        {
            bytes += line.Length + 1;
            if (line == "event: row") seen++;
        }
        if (i >= 1) times.Add(t.Elapsed.TotalMilliseconds);
    }
    return (times, bytes);
}

static void Report(string label, (List<double> Ms, long Bytes) result)
{
    var ms = result.Ms.Order().ToList();
    double P(double q) => ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(q * ms.Count) - 1)];
    Console.WriteLine($"| {label} | {P(0.5):F1} ms | {P(0.95):F1} ms | {ms[^1]:F1} ms | {result.Bytes:N0} |");
}
