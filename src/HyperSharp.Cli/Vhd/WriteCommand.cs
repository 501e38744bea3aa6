using System.CommandLine;
using HyperSharp.Vhdx;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd write`: writes bytes from a file or stdin into the virtual disk at an offset, then flushes.</summary>
internal static class WriteCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The image" };
        var offset = new Argument<string>("offset") { Description = "Byte offset in the virtual disk (units allowed)" };
        var input = new Option<string?>("--in", "-i") { Description = "Read the bytes from this file instead of stdin" };
        var format = VhdOptions.ImageFormat();
        var command = new Command("write", "Write bytes into the virtual disk") { path, offset, input, format };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            long position = VhdOptions.ParseOffset(result.GetValue(offset)!, "offset");
            string? inPath = result.GetValue(input);
            using var disk = VirtualDisk.Open(result.GetValue(path)!, format: VhdOptions.ParseFormat(result.GetValue(format)));
            using var stream = inPath is null ? context.OpenStdin() : File.OpenRead(inPath);
            var buffer = new byte[4 << 20];
            long total = 0;
            while (true)
            {
                int n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                if (n == 0) break;
                if (position > disk.Capacity - n)
                    throw new UsageException($"the data ends past the end of the disk ({disk.Capacity} bytes) after {total} bytes written at offset {position - total}");
                disk.Write(position, buffer.AsSpan(0, n));
                position += n;
                total += n;
                if (n < buffer.Length) break;
            }
            disk.Flush();
            return 0;
        }));
        return command;
    }
}
