using System.CommandLine;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd convert`: Convert-VHD (any format and type to any other; a chain becomes one image).</summary>
internal static class ConvertCommand
{
    public static Command Create(CliContext context)
    {
        var source = new Argument<string>("source") { Description = "The image to convert (a differencing disk is read through its chain)" };
        var target = new Argument<string>("target") { Description = "The new image" };
        var format = VhdOptions.Format();
        var type = VhdOptions.Type("fixed", "dynamic");
        type.Description += " (default: the source's; dynamic for raw and differencing sources)";
        var blockSize = VhdOptions.BlockSize();
        var logical = VhdOptions.LogicalSector();
        var physical = VhdOptions.PhysicalSector();
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing target" };
        var sourceFormat = VhdOptions.ImageFormat("--source-format");
        var command = new Command("convert", "Copy an image into a new one of another format or type, skipping zeros")
            { source, target, format, type, blockSize, logical, physical, overwrite, sourceFormat };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            var options = new ConvertOptions
            {
                Format = VhdOptions.ParseFormat(result.GetValue(format)),
                Type = VhdOptions.ParseType(result.GetValue(type)),
                BlockSize = VhdOptions.ParseBlockSize(result.GetValue(blockSize)),
                LogicalSectorSize = result.GetValue(logical),
                PhysicalSectorSize = result.GetValue(physical),
                Overwrite = result.GetValue(overwrite),
            };
            string targetPath = result.GetValue(target)!;
            using var disk = VirtualDisk.Open(result.GetValue(source)!, DiskOpenOptions.ReadOnlyDefault, VhdOptions.ParseFormat(result.GetValue(sourceFormat)));
            using (var bar = new ProgressBar(context, "convert", disk.Capacity))
                DiskConvert.Convert(disk, targetPath, options, bar);
            context.Out.WriteLine($"converted {disk.Path} -> {Path.GetFullPath(targetPath)}");
            return 0;
        }));
        return command;
    }
}
