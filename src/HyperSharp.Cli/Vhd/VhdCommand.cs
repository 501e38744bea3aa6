using System.CommandLine;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd`: the disk image commands, one file each.</summary>
public static class VhdCommand
{
    public static Command Create(CliContext context)
    {
        var vhd = new Command("vhd", "Create, inspect, check and transform virtual disk images (VHDX, VHD, raw). Sizes: " + SizeParser.Help);
        vhd.Subcommands.Add(NewCommand.Create(context));
        vhd.Subcommands.Add(InfoCommand.Create(context));
        vhd.Subcommands.Add(CheckCommand.Create(context));
        vhd.Subcommands.Add(ResizeCommand.Create(context));
        vhd.Subcommands.Add(ConvertCommand.Create(context));
        vhd.Subcommands.Add(MergeCommand.Create(context));
        vhd.Subcommands.Add(CompactCommand.Create(context));
        vhd.Subcommands.Add(ReadCommand.Create(context));
        vhd.Subcommands.Add(WriteCommand.Create(context));
        return vhd;
    }
}
