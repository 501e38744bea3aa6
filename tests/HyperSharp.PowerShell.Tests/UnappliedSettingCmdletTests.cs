namespace HyperSharp.PowerShell.Tests;

/// <summary>Set-VMProcessor -Reserve/-ExposeVirtualizationExtensions and Set-VM -CheckpointType Production/ProductionOnly warn while they take no effect (no production checkpoints yet), as Set-VMMemory does for dynamic memory.</summary>
public sealed class UnappliedSettingCmdletTests : HostedSession
{
    [Fact]
    public async Task Settings_that_take_no_effect_yet_warn()
    {
        string kernel = Host.IdleGuest();
        var result = await Ps.RunAsync($$"""
            New-VM -Name w -MemoryStartupBytes 64MB -KernelPath '{{kernel}}' | Out-Null
            Set-VMProcessor -VMName w -Reserve 10
            Set-VMProcessor -VMName w -ExposeVirtualizationExtensions $true
            Set-VM -Name w -CheckpointType ProductionOnly
            Set-VMProcessor -VMName w -RelativeWeight 300
            (Get-VMProcessor w).Reserve
            """);
        Assert.Equal([10L], result.Ok().Select(o => Convert.ToInt64(o.BaseObject)));
        Assert.Equal(3, result.Warnings.Count);
        Assert.Contains("Reserve", result.Warnings[0].Message);
        Assert.Contains("ExposeVirtualizationExtensions", result.Warnings[1].Message);
        Assert.Contains("CheckpointType", result.Warnings[2].Message);
        Assert.All(result.Warnings, w => Assert.StartsWith("w: ", w.Message));
    }
}
