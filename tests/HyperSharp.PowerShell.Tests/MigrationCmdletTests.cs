namespace HyperSharp.PowerShell.Tests;

/// <summary>Enable-/Disable-VMMigration and Set-VMHost as an administrator types them, seen in Get-VMHost.</summary>
public sealed class MigrationCmdletTests : HostedSession
{
    [Fact]
    public async Task An_admin_enables_and_tunes_live_migration()
    {
        var host = (VMHost)Assert.Single((await Ps.RunAsync("""
            Enable-VMMigration
            Set-VMHost -VirtualMachineMigrationAuthenticationType MutualTls -VirtualMachineMigrationPerformanceOption TCPIP -MaximumVirtualMachineMigrations 3 -UseAnyNetworkForMigration $false
            Get-VMHost
            """)).Ok()).BaseObject;
        Assert.Equal((true, MigrationAuthenticationType.MutualTls, VMMigrationPerformance.TCPIP, 3L, false),
            (host.VirtualMachineMigrationEnabled, host.VirtualMachineMigrationAuthenticationType, host.VirtualMachineMigrationPerformanceOption,
             host.MaximumVirtualMachineMigrations, host.UseAnyNetworkForMigration));

        var disabled = (VMHost)Assert.Single((await Ps.RunAsync("Disable-VMMigration -Passthru")).Ok()).BaseObject;
        Assert.False(disabled.VirtualMachineMigrationEnabled);
        Assert.Equal(3L, disabled.MaximumVirtualMachineMigrations);

        // Hyper-V's authentications parse, and are refused with the reason; an out-of-range count names its parameter.
        var kerberos = await Ps.RunAsync("Set-VMHost -VirtualMachineMigrationAuthenticationType Kerberos");
        Assert.Contains("mutual TLS", Assert.Single(kerberos.Errors).Exception.Message);
        var tooMany = await Ps.RunAsync("Set-VMHost -MaximumVirtualMachineMigrations 100");
        Assert.Contains("maximum_virtual_machine_migrations", Assert.Single(tooMany.Errors).Exception.Message);
    }
}
