using System.Text.RegularExpressions;
using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Issue 19's adapter scale through the host, on a Debian guest (Emulated backend): 34 network adapters added while the
/// VM is off and 34 hot-added while it runs (behind its PCI-to-PCI bridges) — the guest sees 68 interfaces, each with its
/// adapter's name as its slot label (device naming On), but for the four left with device naming Off (two cold, two hot),
/// whose labels are empty — and a 69th is refused with the limit in the message.
/// </summary>
public class NetworkAdapterScaleGuestTests(ITestOutputHelper output)
{
    private const int Limit = 68, Cold = 34;

    /// <summary>Every adapter but nic00, nic17, nic34 and nic51 shows its name to the guest.</summary>
    private static AddNetworkAdapterRequest Adapter(VmRef vm, int i) =>
        new() { Vm = vm, Name = $"nic{i:D2}", DeviceNaming = i % 17 == 0 ? OnOffState.Off : OnOffState.On };

    // Sourced by the kit's /init; the `read` waits for a line from the host (the console's stdin).
    private const string GuestScript = """
        dmesg -n 1
        n() { ls -d /sys/class/net/eth* 2>/dev/null | wc -l; }
        waitn() { i=0; while [ "$(n)" != "$1" ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done; echo "TEST-COUNT $(n)"; }
        waitn 34; echo TEST-COLD
        read -r step; waitn 68
        for e in /sys/class/net/eth*; do echo "TEST-NIC ${e##*/} [$(cat "$(dirname "$(readlink -f $e/device)")/label")]"; done
        echo TEST-LISTED
        """;

    [Fact]
    public async Task A_guest_sees_68_adapters_by_name_and_a_69th_is_refused_with_the_limit()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        await using var host = await HostFixture.StartAsync(output);
        var client = host.Client;
        string initrd = GuestOverlay.Build(kit, host.Root, new Dictionary<string, string> { ["50-nics.sh"] = GuestScript });
        var vm = new VmRef { Name = "nics" };
        await client.CreateVmAsync(new CreateVmRequest
        {
            Name = "nics", MemoryStartupBytes = 512L << 20, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        for (int i = 0; i < Cold; i++) await client.Networking.AddNetworkAdapterAsync(Adapter(vm, i));
        await client.StartVmAsync(vm);
        var patience = TimeSpan.FromSeconds(600);
        string console = await host.ReadConsoleAsync("nics", t => t.Contains("TEST-COLD"), patience);
        Assert.Matches(@"TEST-COUNT 34\s+TEST-COLD", console);

        for (int i = Cold; i < Limit; i++) await client.Networking.AddNetworkAdapterAsync(Adapter(vm, i));
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "one-more" }).ResponseAsync);
        output.WriteLine(refused.Status.Detail);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains($"({Limit})", refused.Status.Detail);

        console = await host.ReadConsoleAsync("nics", t => t.Contains("TEST-LISTED"), patience, "go\n"u8.ToArray());
        Assert.Matches(@"TEST-COUNT 68\s+TEST-NIC", console);
        var labels = Regex.Matches(console, @"TEST-NIC eth\d+ \[(.*)\]").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(Limit, labels.Count);
        Assert.Equal(Enumerable.Range(0, Limit).Where(i => i % 17 != 0).Select(i => $"nic{i:D2}"), labels.Where(l => l.Length > 0).Order());
        Assert.Equal(4, labels.Count(l => l.Length == 0)); // device naming Off: no name, cold- or hot-plugged
        Assert.Equal(Limit, (await client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm })).Adapters.Count);
        await client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
    }
}
