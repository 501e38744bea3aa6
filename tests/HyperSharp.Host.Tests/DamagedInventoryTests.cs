using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// One damaged VM folder does not take the host down: the host starts, serves the healthy VMs, and lists each broken
/// one Off with a Status that names the file and the error; a broken VM refuses operations with that reason and can
/// be removed.
/// </summary>
public class DamagedInventoryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheHostStartsServesTheHealthyVmsAndListsEachDamagedFolderWithItsReason()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("idle.elf", TestGuests.Idle());
        await host.CreateAsync("healthy", kernel, 32L << 20);
        var garbled = await host.CreateAsync("garbled", kernel, 32L << 20);
        await host.StopHostAsync();

        string vms = Path.Combine(host.Root, "vms");
        string plainFile = Path.Combine(vms, Guid.NewGuid().ToString("D"));
        File.WriteAllText(plainFile, "not a folder");
        string dangling = Path.Combine(vms, Guid.NewGuid().ToString("D"));
        File.CreateSymbolicLink(dangling, Path.Combine(host.Root, "gone"));
        string configIsFolder = Path.Combine(vms, Guid.NewGuid().ToString("D"));
        Directory.CreateDirectory(Path.Combine(configIsFolder, "vm.json"));
        string runtime = Path.Combine(vms, garbled.Id, "runtime.json");
        File.WriteAllText(runtime, "xx");

        await host.StartHostAsync();
        var all = (await host.Client.ListVmsAsync(new ListVmsRequest())).Vms;
        Assert.Equal(5, all.Count);
        var healthy = all.Single(v => v.Name == "healthy");
        Assert.Equal((VmState.Off, "Operating normally"), (healthy.State, healthy.Status));
        foreach (var (entry, file) in new[] { (plainFile, plainFile), (dangling, dangling), (configIsFolder, Path.Combine(configIsFolder, "vm.json")), (Path.Combine(vms, garbled.Id), runtime) })
        {
            var broken = all.Single(v => v.Id == Path.GetFileName(entry));
            output.WriteLine($"{broken.Name}: {broken.State}: {broken.Status}");
            Assert.Equal(VmState.Off, broken.State);
            Assert.Contains(file, broken.Status);
            var refused = await Assert.ThrowsAsync<RpcException>(() => host.Client.StartVmAsync(new VmRef { Id = broken.Id }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
            Assert.Contains(file, refused.Status.Detail);
            var unchanged = await Assert.ThrowsAsync<RpcException>(() => host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = new VmRef { Id = broken.Id }, Notes = "x" }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, unchanged.StatusCode);
        }
        Assert.Equal("garbled", all.Single(v => v.Id == garbled.Id).Name); // its configuration was readable: it keeps its name

        // The healthy VM is served as usual.
        Assert.Equal("still here", (await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = new VmRef { Name = "healthy" }, Notes = "still here" })).Notes);

        // Each broken one can be removed, and its entry goes from the inventory.
        foreach (var broken in all.Where(v => v.Name != "healthy"))
            await host.Client.RemoveVmAsync(new RemoveVmRequest { Vm = new VmRef { Id = broken.Id } });
        Assert.Equal(["healthy"], (await host.Client.ListVmsAsync(new ListVmsRequest())).Vms.Select(v => v.Name));
        Assert.Equal([healthy.Id], Directory.GetFileSystemEntries(vms).Select(Path.GetFileName));
        Assert.True(Directory.Exists(Path.Combine(host.Root, "idle.elf")) || File.Exists(Path.Combine(host.Root, "idle.elf")));
    }
}
