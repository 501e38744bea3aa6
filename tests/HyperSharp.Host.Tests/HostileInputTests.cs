using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Files of the wrong kind or size are refused when the VM is configured (New-VM, Set-VM, Add-VMHardDiskDrive), each
/// error naming the parameter and the file; a start that still fails names the file, in the error and in the VM's
/// Status, and never hangs on a FIFO.
/// </summary>
public class HostileInputTests(ITestOutputHelper output)
{
    [Fact]
    public async Task BootFilesAndDisksOfTheWrongKindOrSizeAreRefusedWhenConfigured()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("idle.elf", TestGuests.Idle());
        string fifo = SpecialFiles.Fifo(Path.Combine(host.Root, "pipe"));
        string empty = host.Guest("empty", []);
        string noise = host.Guest("noise.bin", [.. Enumerable.Range(0, 8192).Select(i => (byte)(i * 37))]);

        await Refused("boot.kernel_path", "/dev/zero", "character device", Create(new BootSource { KernelPath = "/dev/zero" }));
        await Refused("boot.kernel_path", fifo, "FIFO", Create(new BootSource { KernelPath = fifo }));
        await Refused("boot.kernel_path", host.Root, "directory", Create(new BootSource { KernelPath = host.Root }));
        await Refused("boot.kernel_path", empty, "empty", Create(new BootSource { KernelPath = empty }));
        await Refused("boot.kernel_path", noise, "bzImage", Create(new BootSource { KernelPath = noise }));
        await Refused("boot.initrd_path", "/dev/zero", "character device", Create(new BootSource { KernelPath = kernel, InitrdPath = "/dev/zero" }));
        await Refused("boot.initrd_path", fifo, "FIFO", Create(new BootSource { KernelPath = kernel, InitrdPath = fifo }));
        await Refused("vhd_path", fifo, "FIFO", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "x", VhdPath = fifo }).ResponseAsync);

        await host.CreateAsync("vm", kernel, 32L << 20);
        var vm = new VmRef { Name = "vm" };
        await Refused("kernel_path", fifo, "FIFO", () => host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, KernelPath = fifo }).ResponseAsync);
        await Refused("initrd_path", "/dev/zero", "character device", () => host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, InitrdPath = "/dev/zero" }).ResponseAsync);

        string truncated = SpecialFiles.TruncatedVhdx(Path.Combine(host.Root, "cut.vhdx"), 64L << 20, 256 << 10);
        string overwritten = Path.Combine(host.Root, "overwritten.vhdx");
        HyperSharp.Vhdx.VirtualDisk.Create(overwritten, new HyperSharp.Vhdx.DiskCreateOptions { Capacity = 16L << 20 }).Dispose();
        using (var file = new FileStream(overwritten, FileMode.Open, FileAccess.Write)) file.Write(new byte[8]);
        foreach (var (path, why) in new[] { ("/dev/zero", "character device"), (fifo, "FIFO"), (host.Root, "directory"), (truncated, truncated), (overwritten, overwritten), (noise.Replace(".bin", ".vhdx"), "does not exist") })
            await Refused("path", path, why, () => host.Client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = vm, Path = path }).ResponseAsync);
        Assert.Empty((await host.Client.GetVmAsync(vm)).HardDrives);

        // The VHD service (Get-VHD, Test-VHD...) refuses what is no image instead of waiting on it.
        using var channel = HyperSharp.Api.HostEndpoint.Connect(host.SocketPath);
        var vhds = new VhdService.VhdServiceClient(channel);
        await Refused("path", fifo, "FIFO", () => vhds.GetVhdAsync(new GetVhdRequest { Path = fifo }).ResponseAsync);
        await Refused("path", "/dev/zero", "character device", () => vhds.TestVhdAsync(new TestVhdRequest { Path = "/dev/zero" }).ResponseAsync);

        Func<Task> Create(BootSource boot) => () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "x", Boot = boot }).ResponseAsync;
    }

    [Fact]
    public async Task AStartWhoseFilesWentBadNamesTheFileAndNeverHangsOnAFifo()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("idle.elf", TestGuests.Idle());
        await host.CreateAsync("swapped", kernel, 32L << 20);
        File.Delete(kernel);
        SpecialFiles.Fifo(kernel); // replaced after it was configured
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<RpcException>(() => host.Client.StartVmAsync(new VmRef { Name = "swapped" }, deadline: DateTime.UtcNow.AddSeconds(60)).ResponseAsync);
        output.WriteLine($"{clock.ElapsedMilliseconds} ms: {refused.Status}");
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains(kernel, refused.Status.Detail);
        Assert.Contains("FIFO", refused.Status.Detail);

        // An ELF that passes the signature check but not the loader: the worker's error reaches the caller and Status.
        string broken = host.Guest("broken.elf", [0x7F, (byte)'E', (byte)'L', (byte)'F', .. new byte[124]]);
        await host.CreateAsync("broken", broken, 32L << 20);
        var failed = await Assert.ThrowsAsync<RpcException>(() => host.Client.StartVmAsync(new VmRef { Name = "broken" }).ResponseAsync);
        output.WriteLine(failed.Status.ToString());
        Assert.Equal(StatusCode.FailedPrecondition, failed.StatusCode);
        Assert.Contains(broken, failed.Status.Detail);
        var off = await host.Client.GetVmAsync(new VmRef { Name = "broken" });
        Assert.Equal(VmState.Off, off.State);
        Assert.Contains(broken, off.Status);
        Assert.Contains(broken, CliRunner.Run(output, "vm", "start", "broken", "--host-socket", host.SocketPath).Error);
    }

    private static async Task Refused(string parameter, string file, string why, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(e.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound, e.Status.ToString());
        Assert.StartsWith(parameter + ":", e.Status.Detail);
        Assert.Contains(file, e.Status.Detail);
        Assert.Contains(why, e.Status.Detail);
    }
}
