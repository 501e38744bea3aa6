using HyperSharp.Api.Tls;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.State;
using HyperSharp.Inventory.Workers;
using HyperSharp.Machine;
using HyperSharp.Machine.Migration;
using HyperSharp.Machine.State;
using HyperSharp.Networking.Links;

namespace HyperSharp.Worker.Migration;

/// <summary>A worker's two parts in a live migration between hosts: taking the VM as the destination, and the host's "migrate" request as the source.</summary>
internal static class WorkerMigration
{
    /// <summary>How long an arriving worker waits for its source to connect: the source host asks its worker at once after the prepare.</summary>
    private static readonly TimeSpan SourceTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The destination: waits for the source worker, takes the VM (built, not yet running) once the source has committed.</summary>
    public static VirtualMachine Receive(MigrationListener listener, IHypervisor hypervisor, VmConfig config, Func<SavedNetworkAdapter, Func<IFrameLink>?> reconnect)
    {
        using (listener)
        {
            var stream = listener.AcceptAsync(SourceTimeout).GetAwaiter().GetResult();
            using (stream) return MigrationTarget.ReceiveAsync(hypervisor, stream, config.ConsoleOutput, config.Log, reconnect, localize: LocalResources.Of(config)).GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// The source: migrates the session's VM to the worker <paramref name="request"/> names. Ok once the destination owns it; a
    /// refusal (Ok false) when it failed before the handover — the VM runs on here; Ok with <see cref="WorkerResponse.MigrationInDoubt"/>
    /// when the handover is in doubt — the VM stays paused here.
    /// </summary>
    public static async Task<WorkerResponse> SendAsync(MachineSession session, WorkerRequest request, Action<int> progress, Action<string> log, CancellationToken cancel)
    {
        string host = request.MigrateHost ?? throw new ArgumentException("migrate needs the destination worker's host");
        if (request.MigratePort is <= 0 or > 65535) throw new ArgumentException($"migrate needs the destination worker's port, not {request.MigratePort}");
        var trust = new TlsFiles(request.TlsDirectory ?? throw new ArgumentException("migrate needs the trust files' directory"));
        var percent = new MigrationPercent();
        var options = new MigrationOptions { Progress = round => progress(percent.After(round)) };
        try
        {
            await using var stream = await MigrationLink.ConnectAsync(host, request.MigratePort, trust, request.Compress, cancel).ConfigureAwait(false);
            var result = await session.MigrateAsync(stream, options, cancel).ConfigureAwait(false);
            log($"worker: moved to {host}: {result}");
            return new WorkerResponse
            {
                Ok = true, Pid = Environment.ProcessId, MigrationSummary = result.ToString(),
                MigrationTotalMs = result.Total.TotalMilliseconds, MigrationDowntimeMs = result.Downtime.TotalMilliseconds,
            };
        }
        catch (MigrationHandoverInDoubtException e)
        {
            log($"worker: {e.Message}");
            return new WorkerResponse { Ok = true, Pid = Environment.ProcessId, Paused = true, MigrationInDoubt = true, Error = e.Message };
        }
        catch (Exception e) when (e is MigrationException or IOException or StateRecordException or TimeoutException or UnauthorizedAccessException or OperationCanceledException)
        {
            log($"worker: the move to {host} failed, the VM runs on here: {e.Message}");
            return new WorkerResponse { Ok = false, Error = e.Message };
        }
    }
}

/// <summary>
/// Get-VM's "Migrating - NN%" from the engine's rounds: the first full pass is the first half; each later pass is as far along
/// as the set still dirty has shrunk against that first pass; the pause for the last pages is 99; 100 comes with the handover.
/// </summary>
internal sealed class MigrationPercent
{
    private long _firstPass;

    public int After(MigrationRound round)
    {
        if (round.Paused) return 99;
        if (round.Number == 0) { _firstPass = Math.Max(1, round.Pages); return 50; }
        return (int)Math.Clamp(50 + 49 * (1 - (double)round.Pages / _firstPass), 50, 98);
    }
}
