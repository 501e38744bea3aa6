using System.CommandLine;

namespace HyperSharp.Cli.Vm;

/// <summary>`hyper vm`: run a VM in this process (run, restore), or manage the host service's VMs (list, new, start, stop, ...).</summary>
public static class VmCommand
{
    public static Command Create(CliContext context)
    {
        var vm = new Command("vm", "Run and manage virtual machines");
        vm.Subcommands.Add(RunCommand.Create(context));
        vm.Subcommands.Add(RestoreCommand.Create(context));
        foreach (var command in Host.ManagedVmCommands.Create(context)) vm.Subcommands.Add(command);
        vm.Subcommands.Add(Host.ConsoleCommand.Create(context));
        vm.Subcommands.Add(Host.DiskCommands.Create(context));
        vm.Subcommands.Add(Host.ScsiCommands.Create(context));
        vm.Subcommands.Add(Host.NicCommands.Create(context));
        vm.Subcommands.Add(Host.MemoryCommand.Create(context));
        vm.Subcommands.Add(Host.MoveCommand.Create(context));
        vm.Subcommands.Add(Host.CheckpointCommands.Create(context));
        vm.Subcommands.Add(Host.IntegrationCommands.Integration(context));
        vm.Subcommands.Add(Host.IntegrationCommands.CopyFile(context));
        vm.Subcommands.Add(Host.ExecCommand.Create(context));
        vm.Subcommands.Add(Host.ExportCommands.Export(context));
        vm.Subcommands.Add(Host.ExportCommands.Import(context));
        return vm;
    }
}
