using System.Diagnostics;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Bench;

/// <summary>Times DiskConvert.Convert in-process (open, copy, final fsync and rename included; process startup excluded).</summary>
internal static class ConvertBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 2) return Program.Fail("usage: convert SOURCE TARGET [--format vhdx|raw] [--block-size-mib 32]");
        var format = Program.Option(args, "--format", "vhdx") == "raw" ? DiskFormat.Raw : DiskFormat.Vhdx;
        int blockSize = int.Parse(Program.Option(args, "--block-size-mib", "32")) << 20;
        File.Delete(args[1]);
        var clock = Stopwatch.StartNew();
        DiskConvert.Convert(args[0], args[1], new ConvertOptions { Format = format, Type = DiskType.Dynamic, BlockSize = format == DiskFormat.Raw ? 0 : blockSize });
        Console.WriteLine($"seconds={clock.Elapsed.TotalSeconds:F3}");
        return 0;
    }
}
