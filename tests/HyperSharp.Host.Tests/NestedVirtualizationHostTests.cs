using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Hypervisor.Kvm;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Get-VMHost says whether this host's KVM allows nested virtualization (what `hyper host` read from its kvm module),
/// and a VM that asks for it where the backend cannot give it is refused at start with the reason, never run without it.
/// </summary>
public class NestedVirtualizationHostTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheHostReportsNestingAsItsKvmAllowsAndAnEmulatedVmAskingForItIsRefusedAtStart()
    {
        await using var fixture = await HostFixture.StartAsync(output);
        await fixture.StopHostAsync(); // the host here is a process, as an administrator runs it
        string socket = fixture.SocketPath, kernel = fixture.Guest("counter.elf", TestGuests.Counter());
        using var host = await HostProcess.StartAsync(fixture.Root, socket);
        using var channel = HostEndpoint.Connect(socket);
        var client = new VmHost.VmHostClient(channel);
        var nesting = KvmNesting.Check();
        var info = await client.GetHostAsync(new GetHostRequest());
        Assert.Equal(nesting.IsAvailable, info.NestedVirtualizationSupported);
        Assert.Contains($"nested virtualization: {nesting}", host.Log);

        await client.CreateVmAsync(new CreateVmRequest { Name = "nested", MemoryStartupBytes = 64L << 20, Backend = "emulated", Boot = new BootSource { KernelPath = kernel } });
        var set = await client.SetProcessorAsync(new SetProcessorRequest { Vm = new VmRef { Name = "nested" }, ExposeVirtualizationExtensions = true });
        Assert.Contains(set.Warnings, w => w.Contains("refused at start", StringComparison.Ordinal));
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await client.StartVmAsync(new VmRef { Name = "nested" }));
        output.WriteLine(refused.Status.Detail);
        string workerLog = string.Concat(Directory.EnumerateFiles(fixture.Root, "worker.log", SearchOption.AllDirectories).Select(File.ReadAllText));
        Assert.Contains("no VMX or SVM", refused.Status.Detail + workerLog);
        Assert.Equal(VmState.Off, (await client.GetVmAsync(new VmRef { Name = "nested" })).State);
    }
}
