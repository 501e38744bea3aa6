using System.Security.Cryptography;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Host.Tests;
using HyperSharp.Machine.Tests;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// The administrator's hot-add: Add-VMHardDiskDrive on a running Debian guest (Emulated backend) and the
/// guest sees the drive, its data and its name; Remove-VMHardDiskDrive takes it away again. The guest's
/// side is read from its serial console through the host's API (the kit guest here has no agent for PowerShell Direct).
/// </summary>
public sealed class RunningGuestDiskTests(ITestOutputHelper output) : HostedSession
{
    [Fact]
    public async Task A_disk_added_with_the_cmdlets_to_a_running_Debian_guest_appears_in_it_and_leaves_again()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        string initrd = GuestOverlay.Build(kit, Host.Root, new Dictionary<string, string> { [HotAddGuestScript.FileName] = HotAddGuestScript.Text });
        var bytes = new byte[1 << 20];
        new Random(23).NextBytes(bytes);
        using (var disk = VirtualDisk.Create(Path.Combine(Host.Disks, "data.vhdx"), new DiskCreateOptions { Capacity = 64 << 20 })) disk.Write(0, bytes);
        string expectedHash = Convert.ToHexStringLower(SHA256.HashData(bytes));

        var started = await Ps.RunAsync($$"""
            New-VHD boot.vhdx 16MB | Out-Null
            New-VM -Name debian -MemoryStartupBytes 256MB -VHDPath boot.vhdx -Backend emulated `
                -KernelPath '{{Path.Combine(kit, "vmlinuz")}}' -InitrdPath '{{initrd}}' -KernelCommandLine 'console=ttyS0' |
                Start-VM -Passthru | Select-Object -ExpandProperty State
            """);
        if (started.Errors.Count > 0) output.WriteLine(Host.WorkerLogs());
        Assert.Equal(VMState.Running, Assert.Single(started.Ok()).BaseObject);
        using var channel = HostEndpoint.Connect(Host.SocketPath);
        var client = new VmHost.VmHostClient(channel);
        string console = await GuestConsole.ReadAsync(client, "debian", t => t.Contains("TEST-READY"), TimeSpan.FromSeconds(600));
        Assert.Contains("TEST-READY", console);

        var added = await Ps.RunAsync("""
            $drive = Get-VM debian | Add-VMHardDiskDrive -Path data.vhdx -Passthru
            "$($drive.ControllerType) $($drive.ControllerNumber):$($drive.ControllerLocation)"
            $drive.Name
            """);
        if (added.Errors.Count > 0) output.WriteLine(Host.WorkerLogs());
        var lines = added.Ok().Select(o => o.BaseObject.ToString()).ToList();
        Assert.Equal("SCSI 0:1", lines[0]); // the boot disk holds location 0
        console = await GuestConsole.ReadAsync(client, "debian", HotAddGuestScript.HasHash, TimeSpan.FromSeconds(120));
        output.WriteLine(console);
        Assert.Contains($"TEST-LABEL {lines[1]}", console);
        Assert.Contains($"TEST-HASH {expectedHash}", console);

        var removed = await Ps.RunAsync("""
            Get-VMHardDiskDrive -VMName debian -ControllerType SCSI -ControllerLocation 1 | Remove-VMHardDiskDrive
            @(Get-VMHardDiskDrive debian).Count
            """);
        if (removed.Errors.Count > 0) output.WriteLine(Host.WorkerLogs());
        Assert.Equal(1, Assert.Single(removed.Ok()).BaseObject);
        console = await GuestConsole.ReadAsync(client, "debian", t => t.Contains("TEST-DISK-GONE"), TimeSpan.FromSeconds(120));
        output.WriteLine(console);
        Assert.Contains("TEST-DISK-GONE", console);

        var off = await Ps.RunAsync("Stop-VM debian -TurnOff -Passthru | Select-Object -ExpandProperty State");
        Assert.Equal(VMState.Off, Assert.Single(off.Ok()).BaseObject);
    }
}
