using System.Diagnostics;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Host;
using HyperSharp.Host.Tests;

/// <summary>
/// Our side through the management path (BENCH_WHICH=host): the same guest as a VM of a host service with runtime resize,
/// its worker a `hyper worker` process, each step a Set-VMMemory call (gRPC SetMemory) — shrink to 512 MiB (balloon),
/// back to 1536 MiB, then to 2560 MiB (hot-add). Each figure runs from the call to the guest's line, read on the
/// host's console stream attached before the call; the call's own answer time is printed beside it.
/// </summary>
internal static class ThroughHost
{
    public static async Task<(string, double, double, double, double)> RunAsync(string kit, string initrd, string dir, ulong boot, ulong change, TimeSpan timeout)
    {
        string socket = Path.Combine(dir, "host.sock");
        await using var host = await HostServer.StartAsync(new HostServerOptions
        {
            InventoryRoot = Path.Combine(dir, "vms"), SocketPath = socket,
            WorkerCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "hyper.dll")],
        });
        using var channel = HostEndpoint.Connect(socket);
        var client = new VmHost.VmHostClient(channel);
        var vm = new VmRef { Name = "bench" };
        await client.CreateVmAsync(new CreateVmRequest
        {
            Name = "bench", MemoryStartupBytes = (long)boot, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        await client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, RuntimeResizeEnabled = true });
        var clock = Stopwatch.StartNew();
        await client.StartVmAsync(vm);
        try
        {
            await Seen("BENCH-READY");
            double up = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"host: guest up after {up:F1} s");
            double reclaim = await Step("balloon reclaims 1 GiB", boot - change, "BENCH-INFLATED");
            double deflate = await Step("deflate", boot, "BENCH-DEFLATED");
            double grow = await Step("hot-add 1 GiB", boot + change, "BENCH-GREW");
            return ("HyperSharp Emulated, Set-VMMemory through the host", up, reclaim, deflate, grow);
        }
        finally
        {
            await client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        }

        async Task Seen(string marker)
        {
            string text = await GuestConsole.ReadAsync(client, "bench", t => t.Contains(marker + " total="), timeout);
            if (!text.Contains(marker + " total=")) throw new TimeoutException($"the guest did not say {marker} in {timeout}");
        }

        async Task<double> Step(string what, ulong bytes, string marker)
        {
            var step = Stopwatch.StartNew();
            var seen = Seen(marker); // attached before the call: its backlog holds the line if it comes first
            var answer = await client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, StartupBytes = (long)bytes, WaitSeconds = 600 });
            double answered = step.Elapsed.TotalSeconds;
            await seen;
            double guest = step.Elapsed.TotalSeconds;
            Console.WriteLine($"host: {what}: answered in {answered:F2} s ({answer.AssignedBytes >> 20} MiB assigned, {answer.UnreachedBytes >> 20} MiB short), guest saw it at {guest:F2} s");
            return guest;
        }
    }
}
