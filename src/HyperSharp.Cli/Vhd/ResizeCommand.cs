using System.CommandLine;
using HyperSharp.Vhdx;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd resize`: Resize-VHD.</summary>
internal static class ResizeCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The image" };
        var size = new Argument<string>("size") { Description = "New virtual size, e.g. 20GB" };
        var allowDataLoss = new Option<bool>("--allow-data-loss") { Description = "Shrink even when data lies beyond the new end (it is dropped)" };
        var command = new Command("resize", "Grow or shrink an image") { path, size, allowDataLoss };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            long capacity = SizeParser.Parse(result.GetValue(size)!);
            if (capacity <= 0) throw new UsageException("the new size must be more than 0 bytes");
            using var disk = VirtualDisk.Open(result.GetValue(path)!);
            long before = disk.Capacity;
            disk.Resize(capacity, result.GetValue(allowDataLoss));
            disk.Flush();
            context.Out.WriteLine($"{disk.Path}: {SizeParser.Format(before)} -> {SizeParser.Format(disk.Capacity)}");
            return 0;
        }));
        return command;
    }
}
