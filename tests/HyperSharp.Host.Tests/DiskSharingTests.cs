using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// A disk belongs to one VM, refused at attach (naming the other VM) rather than at start; a differencing chain's
/// parents may be shared read-only by several children, but a parent is never attached writable while a child of it
/// is attached anywhere, nor a child while its parent is attached writable.
/// </summary>
public class DiskSharingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ADiskIsAttachedToOneVmAndAParentIsNeverWrittenUnderItsChildren()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("idle.elf", TestGuests.Idle());
        foreach (var name in new[] { "a", "b", "d" }) await host.CreateAsync(name, kernel, 32L << 20);
        string base_ = Disk(host, "base.vhdx", null), child1 = Disk(host, "child1.avhdx", base_), child2 = Disk(host, "child2.avhdx", base_);

        await Add(host, "a", base_);
        await Refused("'a'", () => Add(host, "b", base_));
        // The same file by another name is the same disk.
        string link = Path.Combine(host.Root, "alias.vhdx");
        File.CreateSymbolicLink(link, base_);
        await Refused("'a'", () => Add(host, "b", link));
        await Refused("'a'", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "c", VhdPath = base_ }).ResponseAsync);
        await Refused(base_, () => Add(host, "b", child1)); // its parent is written by a

        await host.Client.RemoveHardDiskDriveAsync(new RemoveHardDiskDriveRequest { Vm = new VmRef { Name = "a" }, ControllerType = ControllerType.Scsi });
        await Add(host, "a", child1);
        await Add(host, "b", child2); // two children share their parent read-only
        await Refused(child1, () => Add(host, "b", base_));
        await Refused(child1, () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "c", VhdPath = base_ }).ResponseAsync);

        // Concurrent attaches of one disk: exactly one wins.
        string shared = Disk(host, "shared.vhdx", null);
        for (int i = 0; i < 8; i++) await host.CreateAsync($"r{i}", kernel, 32L << 20);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            try { await Add(host, $"r{i}", shared); return true; }
            catch (RpcException) { return false; }
        }));
        Assert.Single(results, ok => ok);

        // A running VM's worker holds its disks locked: the answer is still who has the disk, not "in use".
        await host.Client.StartVmAsync(new VmRef { Name = "a" });
        await Refused("already attached to VM 'a'", () => Add(host, "d", child1));
        await Refused(child1, () => Add(host, "d", base_));
    }

    private static string Disk(HostFixture host, string name, string? parent)
    {
        string path = Path.Combine(host.Root, name);
        VirtualDisk.Create(path, parent is null
            ? new DiskCreateOptions { Capacity = 16L << 20 }
            : new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parent }).Dispose();
        return path;
    }

    private static async Task Add(HostFixture host, string vm, string path) =>
        await host.Client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = new VmRef { Name = vm }, Path = path });

    private async Task Refused(string mentioned, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        output.WriteLine(e.Status.ToString());
        Assert.True(e.StatusCode is StatusCode.AlreadyExists or StatusCode.FailedPrecondition, e.Status.ToString());
        Assert.Contains(mentioned, e.Status.Detail);
    }
}
