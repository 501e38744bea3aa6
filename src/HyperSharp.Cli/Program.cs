using System.CommandLine;
using HyperSharp.Cli.Vhd;

namespace HyperSharp.Cli;

/// <summary>Entry point of `hyper`: one root command, one sub-command tree per area.</summary>
public static class Program
{
    public static int Main(string[] args) => Run(args, CliContext.FromConsole());

    /// <summary>Runs a command line against the given streams (tests pass buffers).</summary>
    public static int Run(string[] args, CliContext context)
    {
        var root = new RootCommand("HyperSharp: Hyper-V-class virtualization for Linux hosts");
        root.Subcommands.Add(VhdCommand.Create(context));
        root.Subcommands.Add(Vm.VmCommand.Create(context));
        root.Subcommands.Add(Host.SwitchCommands.Create(context));
        root.Subcommands.Add(Host.HostCommand.Create(context));
        root.Subcommands.Add(Host.ClusterCommands.Create(context));
        root.Subcommands.Add(Host.WorkerCommand.Create(context));
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One line per problem, not the whole help text, so scripts get a readable error.
            foreach (var error in parsed.Errors) context.Error.WriteLine($"hyper: {error.Message}");
            context.Error.WriteLine("hyper: see `hyper --help` (or `hyper vhd COMMAND --help`)");
            return CliAction.Usage;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = context.Out, Error = context.Error });
    }
}
