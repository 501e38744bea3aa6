using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Host.Migration;

namespace HyperSharp.Host.Service;

/// <summary>The live-migration calls of the VmHost service (issue 15): the host's migration settings.</summary>
public sealed partial class VmHostService
{
    public override Task<HostInfo> SetHost(SetHostRequest request, ServerCallContext context)
    {
        manager.HostSettings.Change(request.ToChange());
        return GetHost(new GetHostRequest(), context);
    }
}

/// <summary>The migration settings between the API's messages and the host's domain values.</summary>
internal static class MigrationRequests
{
    public static MigrationSettingsChange ToChange(this SetHostRequest request) => new()
    {
        Enabled = request.HasVirtualMachineMigrationEnabled ? request.VirtualMachineMigrationEnabled : null,
        Authentication = request.HasVirtualMachineMigrationAuthenticationType
            ? request.VirtualMachineMigrationAuthenticationType switch
            {
                MigrationAuthenticationType.MutualTls => MigrationAuthentication.MutualTls,
                var other => throw HostErrors.Invalid("virtual_machine_migration_authentication_type", $"{other} is not an authentication this host offers: migrations authenticate with mutual TLS (the certificates of `hyper host certs`)"),
            }
            : null,
        Performance = request.HasVirtualMachineMigrationPerformanceOption
            ? request.VirtualMachineMigrationPerformanceOption switch
            {
                MigrationPerformanceOption.Tcpip => MigrationPerformance.TcpIp,
                MigrationPerformanceOption.Compression => MigrationPerformance.Compression,
                var other => throw HostErrors.Invalid("virtual_machine_migration_performance_option", $"{other} is not a performance option: give TCPIP or Compression"),
            }
            : null,
        MaximumMigrations = request.HasMaximumVirtualMachineMigrations ? request.MaximumVirtualMachineMigrations : null,
        UseAnyNetwork = request.HasUseAnyNetworkForMigration ? request.UseAnyNetworkForMigration : null,
    };

    public static HostInfo WithMigration(this HostInfo info, MigrationSettings settings)
    {
        info.VirtualMachineMigrationEnabled = settings.Enabled;
        info.VirtualMachineMigrationAuthenticationType = MigrationAuthenticationType.MutualTls;
        info.VirtualMachineMigrationPerformanceOption = settings.Performance == MigrationPerformance.TcpIp ? MigrationPerformanceOption.Tcpip : MigrationPerformanceOption.Compression;
        info.MaximumVirtualMachineMigrations = settings.MaximumMigrations;
        info.UseAnyNetworkForMigration = settings.UseAnyNetwork;
        return info;
    }
}
