using System.CommandLine;
using HyperSharp.Inventory.Workers;
using HyperSharp.Worker;

namespace HyperSharp.Cli.Host;

/// <summary>`hyper worker --vm-dir FOLDER` (internal): the process `hyper host` starts to run one VM.</summary>
internal static class WorkerCommand
{
    public static Command Create(CliContext context)
    {
        var folder = new Option<string>(WorkerArguments.FolderOption) { Description = "The VM's folder in the inventory", Required = true };
        var restore = new Option<bool>(WorkerArguments.RestoreOption) { Description = "Restore the folder's saved state rather than boot" };
        var reportTo = new Option<string?>(WorkerArguments.ReportOption) { Description = "The launching host's Unix socket: take the adapters' ports there, then report on it" };
        var migrateListen = new Option<string?>(WorkerArguments.MigrateListenOption) { Description = "Take the VM by live migration: listen for the source worker on this address" };
        var tlsDir = new Option<string?>(WorkerArguments.TlsDirectoryOption) { Description = "The trust files for --migrate-listen" };
        var command = new Command(WorkerArguments.Verb, "Run one VM for the host service (started by `hyper host`, not by hand)") { folder, restore, reportTo, migrateListen, tlsDir };
        command.Hidden = true;
        command.SetAction(result => CliAction.Run(context, () =>
            WorkerRuntime.Run(result.GetValue(folder)!, result.GetValue(restore), result.GetValue(reportTo), backend => Vm.BackendChooser.Choose(backend, context.Error), context.Error,
                result.GetValue(migrateListen) is { } listen ? new IncomingMigration(listen, result.GetValue(tlsDir) ?? throw new UsageException($"{WorkerArguments.MigrateListenOption} needs {WorkerArguments.TlsDirectoryOption}")) : null)));
        return command;
    }
}
