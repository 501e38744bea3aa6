using System.CommandLine;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd compact`: Optimize-VHD (<see cref="DiskCompact.Optimize"/>: VHDX in place, other formats rewritten).</summary>
internal static class CompactCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "A dynamic or differencing image (or a raw file, made sparse)" };
        var command = new Command("compact", "Drop blocks that hold only zeros and give the space back. " +
            "VHDX images are compacted in place; other formats are rewritten (and get a new identity)") { path };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            string file = result.GetValue(path)!;
            long capacity;
            using (var disk = VirtualDisk.Open(file, DiskOpenOptions.ReadOnlyDefault)) capacity = disk.Capacity;
            (long before, long after) sizes;
            using (var bar = new ProgressBar(context, "compact", capacity))
                sizes = DiskCompact.Optimize(file, bar);
            context.Out.WriteLine($"{Path.GetFullPath(file)}: {SizeParser.Format(sizes.before)} -> {SizeParser.Format(sizes.after)}");
            return 0;
        }));
        return command;
    }
}
