using System.CommandLine;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Cli.Vhd;

/// <summary>
/// `hyper vhd compact`: Optimize-VHD. Runs <see cref="DiskCompact.Rewrite"/> (copy without zero
/// blocks, then replace); when the engine's in-place VhdxDisk.Compact(IProgress&lt;long&gt;?) lands,
/// VHDX images should go there instead, keeping the file's identity.
/// </summary>
internal static class CompactCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "A dynamic or differencing image (or a raw file, made sparse)" };
        var command = new Command("compact", "Drop blocks that hold only zeros and give the space back. " +
            "The image is rewritten, so it gets a new disk identifier: differencing disks based on it must be merged first") { path };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            string file = result.GetValue(path)!;
            long capacity;
            using (var disk = VirtualDisk.Open(file, DiskOpenOptions.ReadOnlyDefault)) capacity = disk.Capacity;
            (long before, long after) sizes;
            using (var bar = new ProgressBar(context, "compact", capacity)) sizes = DiskCompact.Rewrite(file, bar);
            context.Out.WriteLine($"{Path.GetFullPath(file)}: {SizeParser.Format(sizes.before)} -> {SizeParser.Format(sizes.after)}");
            return 0;
        }));
        return command;
    }
}
