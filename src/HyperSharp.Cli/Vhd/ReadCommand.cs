using System.CommandLine;
using HyperSharp.Vhdx;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd read`: copies a byte range of the virtual disk to a file or to stdout (binary), for scripts and tests.</summary>
internal static class ReadCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The image" };
        var offset = new Argument<string>("offset") { Description = "Byte offset in the virtual disk (units allowed, e.g. 1M)" };
        var length = new Argument<string>("length") { Description = "Number of bytes (units allowed)" };
        var output = new Option<string?>("--out", "-o") { Description = "Write to this file instead of stdout" };
        var format = VhdOptions.ImageFormat();
        var command = new Command("read", "Read a byte range of the virtual disk") { path, offset, length, output, format };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            long start = VhdOptions.ParseOffset(result.GetValue(offset)!, "offset");
            long count = VhdOptions.ParseOffset(result.GetValue(length)!, "length");
            using var disk = VirtualDisk.Open(result.GetValue(path)!, DiskOpenOptions.ReadOnlyDefault, VhdOptions.ParseFormat(result.GetValue(format)));
            if (start > disk.Capacity || count > disk.Capacity - start)
                throw new UsageException($"the range {start}+{count} is outside the disk ({disk.Capacity} bytes)");
            string? outPath = result.GetValue(output);
            using var stream = outPath is null ? context.OpenStdout() : File.Create(outPath);
            var buffer = new byte[(int)Math.Min(count, 4 << 20)];
            while (count > 0)
            {
                int n = (int)Math.Min(count, buffer.Length);
                disk.Read(start, buffer.AsSpan(0, n));
                stream.Write(buffer, 0, n);
                start += n;
                count -= n;
            }
            stream.Flush();
            return 0;
        }));
        return command;
    }
}
