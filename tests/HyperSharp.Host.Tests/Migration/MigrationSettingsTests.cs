using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Migration;

/// <summary>The host's live-migration settings (Set-VMHost, Enable-/Disable-VMMigration): Hyper-V's defaults, changed, kept across a host restart, bad values refused by name.</summary>
public sealed class MigrationSettingsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SettingsChangeAndSurviveAHostRestart()
    {
        await using var host = await HostFixture.StartAsync(output);
        var defaults = await host.Client.GetHostAsync(new GetHostRequest());
        Assert.Equal((false, MigrationAuthenticationType.MutualTls, MigrationPerformanceOption.Compression, 2, true),
            (defaults.VirtualMachineMigrationEnabled, defaults.VirtualMachineMigrationAuthenticationType, defaults.VirtualMachineMigrationPerformanceOption,
             defaults.MaximumVirtualMachineMigrations, defaults.UseAnyNetworkForMigration));

        var changed = await host.Client.LiveMigration.SetHostAsync(new SetHostRequest
        {
            VirtualMachineMigrationEnabled = true, VirtualMachineMigrationPerformanceOption = MigrationPerformanceOption.Tcpip,
            MaximumVirtualMachineMigrations = 5, UseAnyNetworkForMigration = false,
        });
        Assert.Equal((true, MigrationPerformanceOption.Tcpip, 5, false),
            (changed.VirtualMachineMigrationEnabled, changed.VirtualMachineMigrationPerformanceOption, changed.MaximumVirtualMachineMigrations, changed.UseAnyNetworkForMigration));
        // A field not given stays as it was.
        Assert.Equal(5, (await host.Client.LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationEnabled = false })).MaximumVirtualMachineMigrations);

        foreach (int bad in new[] { 0, 65, -1 })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => host.Client.LiveMigration.SetHostAsync(new SetHostRequest { MaximumVirtualMachineMigrations = bad }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Contains("maximum_virtual_machine_migrations", refused.Status.Detail);
        }
        var noAuth = await Assert.ThrowsAsync<RpcException>(() => host.Client.LiveMigration.SetHostAsync(new SetHostRequest { VirtualMachineMigrationAuthenticationType = MigrationAuthenticationType.Unspecified }).ResponseAsync);
        Assert.Contains("mutual TLS", noAuth.Status.Detail);

        await host.StopHostAsync();
        await host.StartHostAsync();
        host.Connect();
        var after = await host.Client.GetHostAsync(new GetHostRequest());
        Assert.Equal((false, MigrationPerformanceOption.Tcpip, 5, false),
            (after.VirtualMachineMigrationEnabled, after.VirtualMachineMigrationPerformanceOption, after.MaximumVirtualMachineMigrations, after.UseAnyNetworkForMigration));
    }
}
