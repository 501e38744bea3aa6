using System.CommandLine;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Cli.Vhd;

/// <summary>`hyper vhd check`: Test-VHD. Exit code 0 when the image is usable, 1 when it has problems.</summary>
internal static class CheckCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The image (its parent chain is checked too)" };
        var repair = new Option<bool>("--repair") { Description = "Repair what can be repaired safely" };
        var json = VhdOptions.Json();
        var format = VhdOptions.ImageFormat();
        var command = new Command("check", "Validate an image's structures and report each problem with its file offset") { path, repair, json, format };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            var report = DiskCheck.Run(result.GetValue(path)!, result.GetValue(repair), VhdOptions.ParseFormat(result.GetValue(format)));
            if (result.GetValue(json)) context.Out.WriteLine(CliJson.Serialize(report));
            else
            {
                foreach (var p in report.Problems)
                    context.Out.WriteLine($"{(p.Repaired ? "repaired" : p.Severity)}: {p.Structure} at 0x{p.FileOffset:X}: {p.Message}");
                context.Out.WriteLine(report.Ok ? $"{report.Path}: ok" : $"{report.Path}: {report.Problems.Count} problem(s)");
            }
            return report.Ok ? 0 : CliAction.Failed;
        }));
        return command;
    }
}
