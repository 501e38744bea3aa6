using HyperSharp.Host.Service;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Migration;

/// <summary>
/// A VM arriving by live migration, as its host follows it: how its worker is launched (listening for the source), the port it
/// reports, and the start that ends once the VM runs here (or fails: then the VM was never this host's).
/// </summary>
public sealed class IncomingWorker(IncomingMigration migration, string source)
{
    public IncomingMigration Migration { get; } = migration;

    /// <summary>The host the VM comes from, for messages.</summary>
    public string Source { get; } = source;

    public TaskCompletionSource<int> Listening { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The worker's start: completes when the VM runs here, throws when the migration failed.</summary>
    public Task Arrival { get; set; } = Task.CompletedTask;
}

/// <summary>What a worker reports of a migration, applied to its VM: the arriving worker's port, the departing VM's progress.</summary>
internal static class MigrationReports
{
    public static void Take(ManagedVm vm, WorkerReport report)
    {
        if (report.Kind == WorkerReportKinds.Listening) vm.Incoming?.Listening.TrySetResult(report.Port);
        else vm.SetStatus(MigratingStatus(report.Percent));
    }

    /// <summary>Get-VM's Status while a VM moves, as Hyper-V words it.</summary>
    public static string MigratingStatus(int percent) => $"Migrating - {percent}%";
}
