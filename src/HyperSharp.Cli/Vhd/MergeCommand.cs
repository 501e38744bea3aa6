using System.CommandLine;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd merge`: Merge-VHD, plus merging a chain into a new standalone image.</summary>
internal static class MergeCommand
{
    public static Command Create(CliContext context)
    {
        var child = new Argument<string>("child") { Description = "The differencing disk to merge" };
        var destination = new Option<string?>("--destination", "-d")
        {
            Description = "An ancestor to merge into (the layers in between are merged too, then the merged files are deleted, " +
                "as Merge-VHD -DestinationPath does); a file that does not exist yet becomes a new standalone image of the whole chain, " +
                "leaving the chain as it is. Default: the child's parent.",
        };
        var command = new Command("merge", "Merge a differencing disk into its parent, an ancestor or a new image") { child, destination };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            string childPath = result.GetValue(child)!;
            string? destinationPath = result.GetValue(destination);
            long capacity;
            using (var disk = VirtualDisk.Open(childPath, DiskOpenOptions.ReadOnlyDefault)) capacity = disk.Capacity;
            using var bar = new ProgressBar(context, "merge", capacity);
            if (destinationPath is not null && !File.Exists(destinationPath))
            {
                DiskMerge.MergeToNewImage(childPath, destinationPath, progress: bar);
                bar.Dispose();
                context.Out.WriteLine($"merged the chain of {Path.GetFullPath(childPath)} into the new image {Path.GetFullPath(destinationPath)}");
                return 0;
            }
            string into = DiskMerge.MergeIntoAncestor(childPath, destinationPath, bar);
            bar.Dispose();
            context.Out.WriteLine($"merged {Path.GetFullPath(childPath)} into {into}");
            return 0;
        }));
        return command;
    }
}
