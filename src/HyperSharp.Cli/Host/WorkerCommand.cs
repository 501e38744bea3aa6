using System.CommandLine;
using HyperSharp.Host.Workers;

namespace HyperSharp.Cli.Host;

/// <summary>`hyper worker --vm-dir FOLDER` (internal): the process `hyper host` starts to run one VM.</summary>
internal static class WorkerCommand
{
    public static Command Create(CliContext context)
    {
        var folder = new Option<string>(WorkerArguments.FolderOption) { Description = "The VM's folder in the inventory", Required = true };
        var command = new Command(WorkerArguments.Verb, "Run one VM for the host service (started by `hyper host`, not by hand)") { folder };
        command.Hidden = true;
        command.SetAction(result => CliAction.Run(context, () =>
            WorkerRuntime.Run(result.GetValue(folder)!, backend => Vm.BackendChooser.Choose(backend, context.Error), context.Error)));
        return command;
    }
}
