using System.Diagnostics;
using System.Security.Cryptography;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Add-VMHardDiskDrive on a running VM through the host: the Debian guest (Emulated backend) sees the
/// new SCSI drive appear as a LUN of its controller (no PCI slot: the controller's hotplug event) with its
/// data and its drive name as its serial number; Remove-VMHardDiskDrive takes it out again. The
/// configuration follows both.
/// </summary>
public class DiskHotAddTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ADiskAddedToTheRunningDebianGuestAppearsInItAndLeavesAgain()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        await using var host = await HostFixture.StartAsync(output);
        string initrd = GuestOverlay.Build(kit, host.Root, new Dictionary<string, string> { [HotAddGuestScript.FileName] = HotAddGuestScript.Text });
        string boot = Path.Combine(host.Root, "boot.vhdx"), data = Path.Combine(host.Root, "data.vhdx");
        VirtualDisk.Create(boot, new DiskCreateOptions { Capacity = 1 << 20 }).Dispose();
        var bytes = new byte[1 << 20];
        new Random(11).NextBytes(bytes);
        using (var disk = VirtualDisk.Create(data, new DiskCreateOptions { Capacity = 4 << 20 })) disk.Write(0, bytes);
        string expectedHash = Convert.ToHexStringLower(SHA256.HashData(bytes));

        await host.Client.CreateVmAsync(new CreateVmRequest
        {
            Name = "debian", MemoryStartupBytes = 256L << 20, Backend = "emulated", VhdPath = boot,
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        await host.Client.StartVmAsync(new VmRef { Name = "debian" });
        string console = await host.ReadConsoleAsync("debian", t => t.Contains("TEST-READY"), TimeSpan.FromSeconds(600));
        Assert.Contains("TEST-READY", console);

        var clock = Stopwatch.StartNew();
        var drive = await host.Client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = new VmRef { Name = "debian" }, Path = data });
        Assert.Equal((ControllerType.Scsi, 0, 1), (drive.ControllerType, drive.ControllerNumber, drive.ControllerLocation)); // the boot disk holds location 0
        console = await host.ReadConsoleAsync("debian", HotAddGuestScript.HasHash, TimeSpan.FromSeconds(120));
        output.WriteLine(console);
        output.WriteLine($"hot-add through the host: {clock.Elapsed.TotalSeconds:F1} s from the API call to the guest reading the disk");
        Assert.Contains($"TEST-LABEL {drive.Name}", console);
        Assert.Contains($"TEST-HASH {expectedHash}", console);
        Assert.Equal(2, (await host.Client.ListHardDiskDrivesAsync(new VmRef { Name = "debian" })).Drives.Count);

        await host.Client.RemoveHardDiskDriveAsync(new RemoveHardDiskDriveRequest { Vm = new VmRef { Name = "debian" }, ControllerType = ControllerType.Scsi, ControllerLocation = 1 });
        console = await host.ReadConsoleAsync("debian", t => t.Contains("TEST-DISK-GONE"), TimeSpan.FromSeconds(120));
        output.WriteLine(console);
        Assert.Contains("TEST-DISK-GONE", console);
        using (File.Open(data, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { } // the worker closed the image
        Assert.Single((await host.Client.ListHardDiskDrivesAsync(new VmRef { Name = "debian" })).Drives);

        await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "debian" }, TurnOff = true });
    }
}
