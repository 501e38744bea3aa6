using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Set-VMMemory on running VMs that cannot do what is asked, with a guest of a few instructions (no drivers): each
/// refusal says why and changes nothing; a shrink the guest does not carry out answers what it did not give back
/// (with an event), withdraws it and records what took effect. The guest that does resize is <see cref="MemoryResizeGuestTests"/>.
/// </summary>
public class MemoryResizeRefusalTests(ITestOutputHelper output)
{
    private const long Boot = 64L << 20;

    private static async Task<string> Precondition(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        return e.Status.Detail;
    }

    [Fact]
    public async Task A_vm_started_without_the_devices_and_growth_past_the_hot_add_room_are_refused_with_the_reason()
    {
        await using var host = await HostFixture.StartAsync(output);
        string guest = host.Guest("idle.elf", TestGuests.Idle());
        await host.CreateAsync("plain", guest, Boot);
        await host.CreateAsync("resizable", guest, Boot);
        VmRef plain = new() { Name = "plain" }, resizable = new() { Name = "resizable" };
        await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = resizable, RuntimeResizeEnabled = true });
        await host.Client.StartVmAsync(plain);
        await host.Client.StartVmAsync(resizable);
        try
        {
            Assert.Contains("without hot-add memory", await Precondition(() => host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = plain, StartupBytes = 2 * Boot }).ResponseAsync));
            Assert.Contains("without a memory balloon", await Precondition(() => host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = plain, StartupBytes = Boot / 2 }).ResponseAsync));
            Assert.Contains("at most 1088 MiB", await Precondition(() => host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = resizable, StartupBytes = 2L << 30 }).ResponseAsync));
            string hardware = await Precondition(() => host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = resizable, DynamicMemoryEnabled = true, RuntimeResizeEnabled = false }).ResponseAsync);
            Assert.Contains("DynamicMemoryEnabled, RuntimeResizeEnabled", hardware);
            await ValidationTests.Invalid("buffer", "2000", () => host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = resizable, Buffer = 4 }).ResponseAsync);
            Assert.Equal(70, (await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = resizable, Priority = 70 })).Priority); // stored while running

            // The CLI's `hyper vm memory`: Get-VMMemory without options, Set-VMMemory with them, the host's reason on refusal.
            var shown = CliRunner.Run(output, "vm", "memory", "resizable", "--host-socket", host.SocketPath);
            Assert.Equal(0, shown.Exit);
            Assert.Contains("Runtime resize:       on", shown.Out);
            Assert.Contains("Priority:             70", shown.Out);
            var cli = CliRunner.Run(output, "vm", "memory", "resizable", "--startup", "2GB", "--host-socket", host.SocketPath);
            Assert.NotEqual(0, cli.Exit);
            Assert.Contains("at most 1088 MiB", cli.Error);

            foreach (var name in new[] { plain, resizable })
            {
                var vm = await host.Client.GetVmAsync(name);
                Assert.Equal((Boot, Boot, ""), (vm.MemoryStartupBytes, vm.MemoryAssignedBytes, vm.MemoryStatus));
            }
        }
        finally
        {
            await host.Client.StopVmAsync(new StopVmRequest { Vm = plain, TurnOff = true });
            await host.Client.StopVmAsync(new StopVmRequest { Vm = resizable, TurnOff = true });
        }
    }

    [Fact]
    public async Task A_shrink_the_guest_does_not_carry_out_says_what_it_did_not_give_back_and_records_what_took_effect()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("vm", host.Guest("idle.elf", TestGuests.Idle()), Boot);
        var vm = new VmRef { Name = "vm" };
        await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, RuntimeResizeEnabled = true });
        using var watch = host.Client.WatchEvents(new WatchEventsRequest { Vm = vm });
        await watch.ResponseHeadersAsync;
        await host.Client.StartVmAsync(vm);
        try
        {
            var answer = await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, StartupBytes = 32L << 20, WaitSeconds = 1 });
            output.WriteLine(string.Join("\n", answer.Warnings));
            Assert.Equal((Boot, 32L << 20, Boot), (answer.AssignedBytes, answer.UnreachedBytes, answer.StartupBytes));
            Assert.Contains("did not give back 32 MB", Assert.Single(answer.Warnings));
            Assert.Equal(Boot, (await host.Client.GetVmAsync(vm)).MemoryAssignedBytes);
            VmEvent? resized = null;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                await foreach (var e in watch.ResponseStream.ReadAllAsync(timeout.Token))
                    if (e.Kind == VmEventKind.MemoryResized) { resized = e; break; }
            Assert.Contains("did not give back 32 MB", resized?.Message);
        }
        finally { await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true }); }
    }
}
