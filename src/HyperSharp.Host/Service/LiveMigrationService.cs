using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Host.Migration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static HyperSharp.Host.Service.ServiceCalls;

namespace HyperSharp.Host.Service;

/// <summary>The live-migration calls of the host API (its LiveMigration service) (issue 15): the host's migration settings, Move-VM and Compare-VM, and the calls the source host makes on the destination.</summary>
public sealed class LiveMigrationService(VmManager manager, HostServerOptions options) : Api.V1.LiveMigration.LiveMigrationBase
{
    public override Task<HostInfo> SetHost(SetHostRequest request, ServerCallContext context)
    {
        manager.HostSettings.Change(request.ToChange());
        return Task.FromResult(HostInfoOf(manager, options));
    }

    public override async Task<MoveVmResponse> MoveVm(MoveVmRequest request, ServerCallContext context)
    {
        var outcome = await Migrations(context).MoveAsync(manager.Find(request.Vm), request.DestinationHost, context.CancellationToken).ConfigureAwait(false);
        return new MoveVmResponse
        {
            Vm = outcome.Arrived, DestinationHost = request.DestinationHost, TotalMs = outcome.TotalMs, DowntimeMs = outcome.DowntimeMs, Summary = outcome.Summary,
        };
    }

    public override async Task<CompareVmResponse> CompareVm(MoveVmRequest request, ServerCallContext context)
    {
        var response = new CompareVmResponse();
        response.Incompatibilities.AddRange(await Migrations(context).CompareAsync(manager.Find(request.Vm), request.DestinationHost, context.CancellationToken).ConfigureAwait(false));
        return response;
    }

    public override async Task<PrepareMigrationResponse> PrepareMigration(PrepareMigrationRequest request, ServerCallContext context)
    {
        var (port, problems) = await Migrations(context).PrepareAsync(request.ConfigurationJson, request.SourceHost, request.DryRun, request.SharedFolder is { Length: > 0 } shared ? shared : null).ConfigureAwait(false);
        var response = new PrepareMigrationResponse { Port = port };
        response.Problems.AddRange(problems);
        return response;
    }

    public override async Task<Vm> FinishMigration(VmRef request, ServerCallContext context) =>
        await Project(manager, await Migrations(context).FinishAsync(manager.Find(request)).ConfigureAwait(false), context).ConfigureAwait(false);

    // Taken from the request's services rather than the constructor: the service's other parts stay as they are.
    private static VmMigrations Migrations(ServerCallContext context) => context.GetHttpContext().RequestServices.GetRequiredService<VmMigrations>();
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
