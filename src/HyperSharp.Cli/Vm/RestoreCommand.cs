using System.CommandLine;
using HyperSharp.Machine;

namespace HyperSharp.Cli.Vm;

/// <summary>`hyper vm restore FILE`: continues a VM saved by `hyper vm run --save-after` (Start-VM of a saved VM), in this process.</summary>
internal static class RestoreCommand
{
    public static Command Create(CliContext context)
    {
        var file = new Argument<string>("state") { Description = "The saved-state file" };
        var backend = RunCommand.Backend();
        var saveAfter = new Option<double?>("--save-after") { Description = "Save again after this many seconds (to --state) and exit" };
        var stateFile = new Option<string?>("--state") { Description = "Saved-state file for --save-after" };
        var command = new Command("restore", "Continue a saved VM where it stopped, its console on this terminal") { file, backend, saveAfter, stateFile };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            string path = Path.GetFullPath(result.GetValue(file)!);
            // A missing file, a directory or a damaged one is refused by the reader, naming the file and what is wrong.
            var save = RunCommand.SaveRequest(result.GetValue(saveAfter), result.GetValue(stateFile));
            var hypervisor = BackendChooser.Choose(result.GetValue(backend)!, context.Error);
            try
            {
                // The configuration comes from the file; a guest reset after the restore starts it fresh from that configuration.
                using var network = new EmbeddedNetwork();
                SavedVmConfigReader.Read(path, network, out var config);
                return RunCommand.Run(hypervisor, config with { Log = line => context.Error.WriteLine($"hyper: {line}") }, context, save, restoreFrom: path, network);
            }
            finally { (hypervisor as IDisposable)?.Dispose(); }
        }));
        return command;
    }
}
