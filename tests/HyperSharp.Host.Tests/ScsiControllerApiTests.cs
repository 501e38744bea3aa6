using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Add-/Get-/Remove-VMScsiController through the host: a VM starts with one controller, gets up to 4, a drive on a
/// controller it lacks or a controller that holds drives is refused naming what is wrong, the controllers after a removed
/// one take its number with their drives, and a running VM's controllers are fixed. A vm.json from before controllers
/// were kept gets those its drives need.
/// </summary>
public class ScsiControllerApiTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ControllersAreAddedUpToFourRefusedWhileHoldingDrivesOrRunningAndRenumberedOnRemoval()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("idle.elf", TestGuests.Idle());
        await host.CreateAsync("vm", kernel);
        var vm = new VmRef { Name = "vm" };
        string data = Path.Combine(host.Root, "data.vhdx");
        VirtualDisk.Create(data, new DiskCreateOptions { Capacity = 1 << 20 }).Dispose();

        Assert.Equal([0], (await host.Client.ScsiControllers.ListScsiControllersAsync(vm)).Controllers.Select(c => c.ControllerNumber));
        var lacking = await Assert.ThrowsAsync<RpcException>(() => host.Client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = vm, Path = data, ControllerNumber = 2 }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, lacking.StatusCode);
        Assert.Contains("has no SCSI controller 2: it has 1", lacking.Status.Detail);

        for (int n = 1; n < 4; n++) Assert.Equal(n, (await host.Client.ScsiControllers.AddScsiControllerAsync(vm)).ControllerNumber);
        var fifth = await Assert.ThrowsAsync<RpcException>(() => host.Client.ScsiControllers.AddScsiControllerAsync(vm).ResponseAsync);
        Assert.Contains("already has 4 SCSI controllers", fifth.Status.Detail);

        await host.Client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = vm, Path = data, ControllerNumber = 2, ControllerLocation = 5 });
        var holding = await Assert.ThrowsAsync<RpcException>(() => host.Client.ScsiControllers.RemoveScsiControllerAsync(new RemoveScsiControllerRequest { Vm = vm, ControllerNumber = 2 }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, holding.StatusCode);
        Assert.Contains($"'Hard Drive on SCSI controller number 2 at location 5' ({data})", holding.Status.Detail);

        await host.Client.ScsiControllers.RemoveScsiControllerAsync(new RemoveScsiControllerRequest { Vm = vm, ControllerNumber = 1 });
        var controllers = (await host.Client.ScsiControllers.ListScsiControllersAsync(vm)).Controllers;
        Assert.Equal([0, 1, 2], controllers.Select(c => c.ControllerNumber));
        var moved = Assert.Single(controllers[1].Drives); // the drive of controller 2 went down with its controller
        Assert.Equal((1, 5, data), (moved.ControllerNumber, moved.ControllerLocation, moved.Path));
        Assert.Equal((ControllerType.Scsi, 1, 5), Assert.Single((await host.Client.ListHardDiskDrivesAsync(vm)).Drives) is var d ? (d.ControllerType, d.ControllerNumber, d.ControllerLocation) : default);

        await host.Client.StartVmAsync(vm);
        var running = await Assert.ThrowsAsync<RpcException>(() => host.Client.ScsiControllers.AddScsiControllerAsync(vm).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, running.StatusCode);
        Assert.Contains("while it is Running", running.Status.Detail);
        await Assert.ThrowsAsync<RpcException>(() => host.Client.ScsiControllers.RemoveScsiControllerAsync(new RemoveScsiControllerRequest { Vm = vm, ControllerNumber = 2 }).ResponseAsync);
        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        Assert.Equal(3, (await host.Client.ScsiControllers.ListScsiControllersAsync(vm)).Controllers.Count);
    }

    [Fact]
    public async Task The_cli_adds_lists_and_removes_controllers()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("vm", host.Guest("idle.elf", TestGuests.Idle()));
        CliResult Hyper(params string[] args) => CliRunner.Run(output, [.. args, "--host-socket", host.SocketPath]);
        Assert.Equal((0, "vm: SCSI controller 1 added"), (Hyper("vm", "scsi", "add", "vm") is var a ? (a.Exit, a.Out.Trim()) : default));
        Assert.Equal(["SCSI controller 0: no drives", "SCSI controller 1: no drives"], Hyper("vm", "scsi", "list", "vm").Out.Trim().Split('\n'));
        Assert.Equal(0, Hyper("vm", "scsi", "remove", "vm", "1").Exit);
        var refused = Hyper("vm", "scsi", "remove", "vm", "1");
        Assert.NotEqual(0, refused.Exit);
        Assert.Contains("has no SCSI controller 1: it has 1", refused.Error);
    }

    [Fact]
    public void A_vm_json_from_before_the_controllers_were_kept_gets_those_its_drives_need()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("hs-scsi-vmjson").FullName, "vm.json");
        try
        {
            File.WriteAllText(file, """
                {"version":5,"id":"6e81ad03-c6f2-45fd-af91-5703b0aee4ec","name":"old",
                 "disks":[{"controllerType":"Scsi","controllerNumber":2,"controllerLocation":0,"path":"/d.vhdx"}]}
                """);
            var old = VmInventory.ReadConfiguration(file)!;
            Assert.Null(old.ScsiControllers);
            Assert.Equal(3, old.ScsiControllerCount());
            Assert.Equal(1, (old with { Disks = [] }).ScsiControllerCount());
            Assert.Equal(2, (old with { ScsiControllers = 2, Disks = [] }).ScsiControllerCount());
        }
        finally { Directory.Delete(Path.GetDirectoryName(file)!, true); }
    }
}
