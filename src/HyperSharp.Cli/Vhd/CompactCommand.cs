using System.CommandLine;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;
using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Cli.Vhd;

/// <summary>
/// `hyper vhd compact`: Optimize-VHD. VHDX images are compacted in place (<see cref="VhdxDisk.Compact"/>:
/// zero blocks released, tail blocks moved into holes, the file cut), keeping their identity, so
/// differencing children stay valid; other formats are rewritten (<see cref="DiskCompact.Rewrite"/>).
/// </summary>
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
            {
                if (VirtualDisk.DetectFormat(file) == DiskFormat.Vhdx)
                {
                    using var vhdx = VhdxDisk.Open(file, new DiskOpenOptions { OpenParent = false });
                    var result = vhdx.Compact(bar);
                    sizes = (result.FileSizeBefore, result.FileSizeAfter);
                }
                else sizes = DiskCompact.Rewrite(file, bar);
            }
            context.Out.WriteLine($"{Path.GetFullPath(file)}: {SizeParser.Format(sizes.before)} -> {SizeParser.Format(sizes.after)}");
            return 0;
        }));
        return command;
    }
}
