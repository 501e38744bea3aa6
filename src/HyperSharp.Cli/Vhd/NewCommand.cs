using System.CommandLine;
using HyperSharp.Vhdx;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd new`: New-VHD.</summary>
internal static class NewCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The new image file" };
        var size = new Argument<string?>("size") { Description = "Virtual size, e.g. 10GB (not for differencing disks, which take the parent's)", Arity = ArgumentArity.ZeroOrOne };
        var type = VhdOptions.Type("fixed", "dynamic", "differencing");
        type.Description += " (default dynamic, or differencing with --parent)";
        var parent = new Option<string?>("--parent", "-p") { Description = "Parent image of a differencing disk" };
        var format = VhdOptions.Format();
        var blockSize = VhdOptions.BlockSize();
        var logical = VhdOptions.LogicalSector();
        var physical = VhdOptions.PhysicalSector();
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing file" };
        var command = new Command("new", "Create a fixed, dynamic or differencing image") { path, size, type, parent, format, blockSize, logical, physical, overwrite };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            string file = result.GetValue(path)!;
            string? parentPath = result.GetValue(parent);
            var diskType = VhdOptions.ParseType(result.GetValue(type)) ?? (parentPath is null ? DiskType.Dynamic : DiskType.Differencing);
            if (diskType == DiskType.Differencing && parentPath is null) throw new UsageException("a differencing disk needs --parent");
            if (diskType != DiskType.Differencing && parentPath is not null) throw new UsageException("--parent is only for differencing disks");
            var diskFormat = VhdOptions.ParseFormat(result.GetValue(format)) ?? VirtualDisk.FormatFromExtension(file);
            if (diskFormat == DiskFormat.Raw && diskType == DiskType.Differencing)
                throw new UsageException("a raw file cannot be a differencing disk; name it .avhdx (or .vhdx) or pass --format vhdx");
            string? sizeText = result.GetValue(size);
            long capacity = 0;
            if (diskType == DiskType.Differencing)
            {
                if (sizeText is not null) throw new UsageException("a differencing disk takes its size from the parent; leave SIZE out");
            }
            else
            {
                if (sizeText is null) throw new UsageException("SIZE is required, e.g. 10GB");
                capacity = SizeParser.Parse(sizeText);
                if (capacity <= 0) throw new UsageException($"bad size '{sizeText}': must be more than 0 bytes");
            }
            var options = new DiskCreateOptions
            {
                Format = diskFormat,
                Type = diskType,
                Capacity = capacity,
                BlockSize = VhdOptions.ParseBlockSize(result.GetValue(blockSize)),
                LogicalSectorSize = result.GetValue(logical) ?? 512,
                PhysicalSectorSize = result.GetValue(physical) ?? 0,
                ParentPath = parentPath is null ? null : Path.GetFullPath(parentPath),
                Overwrite = result.GetValue(overwrite),
            };
            using var disk = VirtualDisk.Create(file, options);
            context.Out.WriteLine($"created {disk.Path}: {disk.Format} {disk.Type.ToString().ToLowerInvariant()}, {SizeParser.Format(disk.Capacity)}");
            return 0;
        }));
        return command;
    }
}
