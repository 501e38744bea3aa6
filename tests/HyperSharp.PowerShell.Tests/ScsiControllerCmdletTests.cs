namespace HyperSharp.PowerShell.Tests;

/// <summary>Add-/Get-/Remove-VMScsiController against a real host: controllers added, listed with their drives, removed, and a controller holding a drive refused naming it.</summary>
public sealed class ScsiControllerCmdletTests : HostedSession
{
    [Fact]
    public async Task An_admin_adds_lists_and_removes_SCSI_controllers()
    {
        string kernel = Host.IdleGuest();
        var listed = (await Ps.RunAsync($$"""
            New-VM -Name db01 -MemoryStartupBytes 64MB -KernelPath '{{kernel}}' -Backend emulated | Out-Null
            New-VHD logs.vhdx 16MB | Out-Null
            Add-VMScsiController db01
            $added = Add-VMScsiController db01 -Passthru
            Add-VMHardDiskDrive db01 -ControllerNumber 2 -ControllerLocation 3 -Path logs.vhdx
            "added $($added.ControllerNumber)"
            Get-VMScsiController db01 | ForEach-Object { "$($_.ControllerNumber): $($_.Drives.Count)" }
            (Get-VMScsiController db01 2).Drives[0].ControllerLocation
            """)).Ok().Select(o => o.BaseObject).ToList();
        Assert.Equal(["added 2", "0: 0", "1: 0", "2: 1", 3], listed);

        var refused = Assert.Single((await Ps.RunAsync("Remove-VMScsiController db01 2")).Errors);
        Assert.Contains("Hard Drive on SCSI controller number 2 at location 3", refused.Exception.Message);
        var after = (await Ps.RunAsync("""
            Remove-VMScsiController db01 -ControllerNumber 1
            Get-VMHardDiskDrive db01 | ForEach-Object { "$($_.ControllerType) $($_.ControllerNumber):$($_.ControllerLocation)" }
            @(Get-VMScsiController db01).Count
            """)).Ok().Select(o => o.BaseObject).ToList();
        Assert.Equal(["SCSI 1:3", 2], after);
    }
}
