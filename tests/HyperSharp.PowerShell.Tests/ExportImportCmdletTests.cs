using System.Management.Automation;
using HyperSharp.PowerShell.Cmdlets.Migration;

namespace HyperSharp.PowerShell.Tests;

/// <summary>Export-VM, Export-VMSnapshot, Compare-VM -Path and Import-VM against a real host.</summary>
public sealed class ExportImportCmdletTests : HostedSession
{
    [Fact]
    public async Task A_vm_is_exported_compared_and_imported_as_a_copy()
    {
        string kernel = Host.IdleGuest();
        string exports = Directory.CreateDirectory(Path.Combine(Host.Root, "exports")).FullName;
        var exported = await Ps.RunAsync($$"""
            New-VM -Name ex -MemoryStartupBytes 64MB -NewVHDPath ex.vhdx -NewVHDSizeBytes 16MB -KernelPath '{{kernel}}' -Backend emulated | Out-Null
            Set-VM -Name ex -CheckpointType Standard
            Checkpoint-VM -Name ex -SnapshotName one
            Export-VM -Name ex -Path '{{exports}}' -Passthru | ForEach-Object Name
            Export-VMCheckpoint -VMName ex -Name one -Path '{{exports}}/at-one'
            Get-ChildItem '{{exports}}/ex/Virtual Machines/*.json' | ForEach-Object FullName
            """);
        var lines = exported.Output.Select(o => o.BaseObject.ToString()!).ToList();
        Assert.Equal("ex", lines[0]);
        string file = lines[1];
        // The folder the checkpoint was to go to does not exist: refused, naming it.
        Assert.Contains($"{exports}/at-one does not exist", Assert.Single(exported.Errors).Exception.Message);

        var report = (VMCompatibilityReport)(await Ps.RunAsync($"Compare-VM -Path '{file}'")).Ok().Single().BaseObject;
        Assert.Equal(["IdInUse", "NameInUse"], report.Incompatibilities.Select(i => i.Kind!).Order());
        var refused = await Ps.RunAsync($"Import-VM -Path '{file}' -Confirm:$false");
        Assert.Contains(report.Incompatibilities[0].Message, Assert.Single(refused.Errors).Exception.Message);

        var copy = await Ps.RunAsync($$"""
            Import-VM -Path '{{file}}' -Copy -GenerateNewId -NewName ex2 -VhdDestinationPath '{{exports}}' -Confirm:$false | ForEach-Object Name
            (Get-VMHardDiskDrive ex2).Path
            @(Get-VMSnapshot ex2).Count
            (Get-VM ex).Id -ne (Get-VM ex2).Id
            """);
        Assert.Empty(copy.Errors);
        var values = copy.Ok().Select(o => o.BaseObject.ToString()).ToList();
        Assert.Equal("ex2", values[0]);
        Assert.StartsWith(Path.Combine(exports, "ex_"), values[1]);
        Assert.Equal(["1", "True"], values.Skip(2));
    }
}
