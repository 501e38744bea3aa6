using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine;
using HyperSharp.Machine.Migration;
using HyperSharp.Machine.State;

// Boots the guest kit with bench/guest/migrate-work.sh on the Emulated backend, waits until its workload ticks, moves it to a
// second VM in this process over a loopback TCP connection, waits for the first tick on the destination, and prints one line:
// HS-MIGRATE total_ms=… downtime_ms=… first_tick_ms=… rounds=… sent_mib=… (first_tick_ms: from the pause to the destination's
// first console line, an upper bound of what the guest felt, since it ticks every 100 ms).
// usage: HyperSharp.MigrationBench --kernel K --initrd I [--memory-mib 512] [--fill-mib 128] [--dirty-kib 0] [--downtime-ms 50]

static string Option(string[] args, string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

string kernel = Option(args, "--kernel", ""), initrd = Option(args, "--initrd", "");
if (kernel == "" || initrd == "") { Console.Error.WriteLine("usage: HyperSharp.MigrationBench --kernel K --initrd I [--memory-mib 512] [--fill-mib 128] [--dirty-kib 0] [--downtime-ms 50]"); return 2; }
ulong memoryMiB = ulong.Parse(Option(args, "--memory-mib", "512"));
int fill = int.Parse(Option(args, "--fill-mib", "128")), dirty = int.Parse(Option(args, "--dirty-kib", "0"));
var downtimeTarget = TimeSpan.FromMilliseconds(double.Parse(Option(args, "--downtime-ms", "50"), System.Globalization.CultureInfo.InvariantCulture));

var sourceConsole = new ConsoleLines();
var config = new VmConfig
{
    KernelPath = kernel, InitrdPath = initrd, MemorySize = memoryMiB << 20, Processors = 1,
    CommandLine = $"console=ttyS0 quiet hs.fill={fill} hs.dirty={dirty}", ConsoleOutput = sourceConsole.Add, Log = Console.Error.WriteLine,
};
var hypervisor = new EmulatedHypervisor();
using var source = new VirtualMachineBuilder(hypervisor, config).Build();
var sourceRun = Task.Run(source.Run);
if (!await sourceConsole.WaitFor("BENCH-TICK 3", TimeSpan.FromMinutes(10)))
{
    Console.Error.WriteLine($"the guest did not start its workload; console:\n{sourceConsole.Text}");
    return 1;
}

using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
listener.Listen(1);
using var toDestination = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
var accepting = listener.AcceptAsync();
await toDestination.ConnectAsync(listener.LocalEndPoint!);
using var fromSource = await accepting;
fromSource.NoDelay = true;

var destinationConsole = new ConsoleLines();
var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(new EmulatedHypervisor(), new NetworkStream(fromSource), destinationConsole.Add, Console.Error.WriteLine));
var clock = Stopwatch.StartNew();
var result = await MigrationSource.SendAsync(source, SavedVmConfig.From(config), hypervisor.Name, new NetworkStream(toDestination),
    new MigrationOptions { DowntimeTarget = downtimeTarget });
using var moved = await receiving;
var run = Task.Run(moved.Run);
var pausedAt = clock.Elapsed - result.Downtime; // the source paused this long before the handover
bool ticked = await destinationConsole.WaitFor("BENCH-TICK", TimeSpan.FromMinutes(1));
var firstTick = clock.Elapsed - pausedAt;
moved.Stop();
await run;
await sourceRun;
if (!ticked) { Console.Error.WriteLine("the destination never ticked"); return 1; }
Console.WriteLine(FormattableString.Invariant(
    $"HS-MIGRATE total_ms={result.Total.TotalMilliseconds:0.0} downtime_ms={result.Downtime.TotalMilliseconds:0.0} first_tick_ms={firstTick.TotalMilliseconds:0.0} rounds={result.Rounds.Count} sent_mib={result.BytesSent / 1048576.0:0.0}"));
return 0;

/// <summary>A console kept as text, with waits for a marker (the guest says when it is ready; nothing sleeps).</summary>
sealed class ConsoleLines
{
    private readonly StringBuilder _text = new();
    private readonly List<(string Marker, TaskCompletionSource Seen)> _waiters = [];

    public string Text { get { lock (_text) return _text.ToString(); } }

    public void Add(byte b)
    {
        lock (_text)
        {
            _text.Append((char)b);
            if (b != '\n') return;
            string text = _text.ToString();
            _waiters.RemoveAll(w => text.Contains(w.Marker) && w.Seen.TrySetResult());
        }
    }

    public async Task<bool> WaitFor(string marker, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_text)
        {
            if (_text.ToString().Contains(marker)) return true;
            _waiters.Add((marker, seen));
        }
        return await Task.WhenAny(seen.Task, Task.Delay(timeout)) == seen.Task;
    }
}
