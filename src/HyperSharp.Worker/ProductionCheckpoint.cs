using System.Diagnostics;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Worker;

/// <summary>
/// A production checkpoint of the running VM, as Hyper-V takes one: the guest's agent freezes its file systems (VSS),
/// the disks switch to their new children in one short pause, and the agent thaws them — always, also when the switch
/// failed. No memory is kept: what the checkpoint holds is disks whose file systems were consistent.
/// </summary>
internal static class ProductionCheckpoint
{
    /// <summary>After this the agent thaws by itself: a worker that dies between freeze and thaw leaves no guest frozen for long.</summary>
    public static readonly TimeSpan AgentTimeout = TimeSpan.FromSeconds(30);
    /// <summary>How long the worker waits for the agent's answer to the freeze and to the thaw (a frozen guest may write nothing).</summary>
    public static readonly TimeSpan AnswerWait = TimeSpan.FromSeconds(20);

    /// <summary>Takes it; a freeze the agent refuses (or no agent) takes nothing and says why in <see cref="WorkerResponse.FreezeRefused"/>.</summary>
    public static async Task<WorkerResponse> TakeAsync(MachineSession session, WorkerIntegration? integration, IReadOnlyDictionary<string, string> children,
        WorkerResponse status, Action<string> log)
    {
        if (integration is null) return status with { FreezeRefused = "the VM has no integration services (its vsock socket could not be served)" };
        string[] frozen;
        try
        {
            using var wait = new CancellationTokenSource(AnswerWait);
            frozen = await integration.FreezeAsync(AgentTimeout, wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            string why = e is OperationCanceledException ? $"the guest agent did not answer the freeze within {AnswerWait.TotalSeconds:0} s" : e.Message;
            // A freeze that was not answered may still have happened: thaw at once rather than wait for the agent's timeout.
            await ThawAsync(integration, log).ConfigureAwait(false);
            return status with { FreezeRefused = why };
        }
        var frozenFor = Stopwatch.StartNew();
        log($"worker: the guest agent froze {string.Join(", ", frozen)}");
        TimeSpan pause;
        try { pause = session.Checkpoint(null, children); }
        catch
        {
            await ThawAsync(integration, log).ConfigureAwait(false);
            throw;
        }
        string? thawProblem = await ThawAsync(integration, log).ConfigureAwait(false);
        double frozenMs = frozenFor.Elapsed.TotalMilliseconds;
        log($"worker: production checkpoint; the guest's file systems were frozen {frozenMs:0.0} ms, the guest paused {pause.TotalMilliseconds:0.0} ms");
        return status with { PauseMs = pause.TotalMilliseconds, FrozenMounts = [.. frozen], FrozenMs = frozenMs, ThawProblem = thawProblem };
    }

    /// <summary>Asks for the thaw; returns what went wrong (the agent's own timeout thaws then), or null.</summary>
    private static async Task<string?> ThawAsync(WorkerIntegration integration, Action<string> log)
    {
        try
        {
            using var wait = new CancellationTokenSource(AnswerWait);
            var thawed = await integration.ThawAsync(wait.Token).ConfigureAwait(false);
            log($"worker: the guest agent thawed {string.Join(", ", thawed)}");
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            string why = $"the thaw was not confirmed ({(e is OperationCanceledException ? $"no answer within {AnswerWait.TotalSeconds:0} s" : e.Message)}); the guest agent thaws by itself within {AgentTimeout.TotalSeconds:0} s of the freeze";
            log($"worker: {why}");
            return why;
        }
    }
}
