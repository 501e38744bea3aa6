using System.CommandLine;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd info`: Get-VHD.</summary>
internal static class InfoCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The image" };
        var json = VhdOptions.Json();
        var format = VhdOptions.ImageFormat();
        var command = new Command("info", "Show an image's format, type, sizes and parent") { path, json, format };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            var info = DiskInfo.Read(result.GetValue(path)!, VhdOptions.ParseFormat(result.GetValue(format)));
            if (result.GetValue(json)) context.Out.WriteLine(CliJson.Serialize(info));
            else Print(context.Out, info);
            return 0;
        }));
        return command;
    }

    private static void Print(TextWriter o, DiskInfo i)
    {
        o.WriteLine($"Path:                {i.Path}");
        o.WriteLine($"Format:              {i.Format}");
        o.WriteLine($"Type:                {i.Type}");
        o.WriteLine($"Capacity:            {SizeParser.Format(i.Capacity)} ({i.Capacity} bytes)");
        o.WriteLine($"File size:           {SizeParser.Format(i.FileSize)} ({i.FileSize} bytes)");
        o.WriteLine($"Allocated:           {SizeParser.Format(i.AllocatedBytes)} ({i.AllocatedBytes} bytes in this file)");
        if (i.BlockSize is { } b) o.WriteLine($"Block size:          {SizeParser.Format(b)}");
        o.WriteLine($"Logical sector:      {i.LogicalSectorSize}");
        o.WriteLine($"Physical sector:     {i.PhysicalSectorSize}");
        if (i.DiskIdentifier is { } id) o.WriteLine($"Disk identifier:     {id:D}");
        if (i.ParentPath is not null) o.WriteLine($"Parent:              {i.ParentPath}");
        if (i.ChainDepth > 1) o.WriteLine($"Chain depth:         {i.ChainDepth}");
        if (i.ParentProblem is not null) o.WriteLine($"Parent problem:      {i.ParentProblem}");
        if (i.ParentLocator is not null)
            foreach (var (key, value) in i.ParentLocator) o.WriteLine($"  locator {key,-20} {value}");
        if (i.LogPending) o.WriteLine("Log:                 pending (replayed in memory; opening the image writable replays it into the file)");
    }
}
