using System.CommandLine;

namespace HyperSharp.Cli.Vm;

/// <summary>`hyper vm`: virtual machine commands (run now; the host service adds list/new/start/stop/save).</summary>
public static class VmCommand
{
    public static Command Create(CliContext context)
    {
        var vm = new Command("vm", "Run and manage virtual machines");
        vm.Subcommands.Add(RunCommand.Create(context));
        vm.Subcommands.Add(RestoreCommand.Create(context));
        return vm;
    }
}
