using System.Management.Automation;

namespace HyperSharp.PowerShell.Tests;

/// <summary>Checkpoint-VM, Get-VMSnapshot (and Get-VMCheckpoint), Rename-, Restore- and Remove-VMSnapshot against a real host.</summary>
public sealed class CheckpointCmdletTests : HostedSession
{
    [Fact]
    public async Task Checkpoints_are_taken_listed_walked_renamed_restored_and_removed()
    {
        string kernel = Host.IdleGuest();
        var taken = await Ps.RunAsync($$"""
            New-VM -Name cp -MemoryStartupBytes 64MB -NewVHDPath cp.vhdx -NewVHDSizeBytes 16MB -KernelPath '{{kernel}}' -Backend emulated | Out-Null
            Checkpoint-VM -Name cp -SnapshotName one -Passthru
            Set-VM -Name cp -CheckpointType Standard
            Checkpoint-VM cp two -Passthru
            """);
        var snapshots = taken.Ok().Select(o => (VMSnapshot)o.BaseObject).ToList();
        Assert.Equal(["one", "two"], snapshots.Select(s => s.Name));
        Assert.All(snapshots, s => Assert.Equal("cp", s.VMName));
        Assert.All(snapshots, s => Assert.Equal(SnapshotType.Standard, s.SnapshotType));
        Assert.Equal(["", "one"], snapshots.Select(s => s.ParentSnapshotName));
        Assert.Contains("standard checkpoint was taken instead", Assert.Single(taken.Warnings).Message); // Production (the default) fell back
        Assert.Matches(@"cp_[0-9A-F-]{36}\.avhdx$", snapshots[1].HardDrivePaths.Single());

        var walked = (await Ps.RunAsync("""
            Get-VMCheckpoint -VMName cp | Measure-Object | ForEach-Object Count
            Get-VMSnapshot -ParentOf (Get-VMSnapshot -VMName cp -Name two) | ForEach-Object Name
            Get-VMSnapshot -ChildOf (Get-VMSnapshot cp one) | ForEach-Object Name
            Get-VM cp | Get-VMSnapshot -Name t* -SnapshotType Standard | ForEach-Object Name
            """)).Ok().Select(o => o.BaseObject.ToString()).ToList();
        Assert.Equal(["2", "one", "two", "two"], walked);

        var missing = await Ps.RunAsync("Restore-VMSnapshot -VMName cp -Name nothing -Confirm:$false");
        Assert.Equal(ErrorCategory.ObjectNotFound, Assert.Single(missing.Errors).CategoryInfo.Category);
        Assert.Contains("'nothing'", missing.Errors[0].Exception.Message);

        var changed = await Ps.RunAsync("""
            Rename-VMSnapshot -VMName cp -Name two -NewName second -Passthru | ForEach-Object Name
            Restore-VMSnapshot -VMName cp -Name one -Confirm:$false
            Get-VMSnapshot cp | Where-Object IsCurrent | ForEach-Object Name
            Remove-VMSnapshot -VMName cp -Name one -IncludeAllChildSnapshots -Confirm:$false
            @(Get-VMSnapshot cp).Count
            (Get-VMHardDiskDrive cp).Path
            """);
        Assert.Empty(changed.Errors);
        Assert.Equal(["second", "one", "0", Path.Combine(Host.Disks, "cp.vhdx")], changed.Ok().Select(o => o.BaseObject.ToString()));
    }
}
