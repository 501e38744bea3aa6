namespace HyperSharp.PowerShell.Tests;

/// <summary>Set-VMProcessor -ExposeVirtualizationExtensions warns that it holds only where nesting is allowed; Set-VM -CheckpointType ProductionOnly, which always holds, does not.</summary>
public sealed class UnappliedSettingCmdletTests : HostedSession
{
    [Fact]
    public async Task Settings_that_take_no_effect_yet_warn()
    {
        string kernel = Host.IdleGuest();
        var result = await Ps.RunAsync($$"""
            New-VM -Name w -MemoryStartupBytes 64MB -KernelPath '{{kernel}}' | Out-Null
            Set-VMProcessor -VMName w -ExposeVirtualizationExtensions $true
            Set-VM -Name w -CheckpointType ProductionOnly
            Set-VMProcessor -VMName w -RelativeWeight 300
            (Get-VMProcessor w).Reserve
            """);
        Assert.Equal([0L], result.Ok().Select(o => Convert.ToInt64(o.BaseObject)));
        Assert.Contains("ExposeVirtualizationExtensions", Assert.Single(result.Warnings).Message);
        Assert.All(result.Warnings, w => Assert.StartsWith("w: ", w.Message));
    }
}
