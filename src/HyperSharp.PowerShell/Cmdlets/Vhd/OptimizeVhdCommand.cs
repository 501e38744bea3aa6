using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vhd;

[Cmdlet(VerbsCommon.Optimize, "VHD", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualHardDisk))]
[CmdletHelp("Optimizes the allocation of space in virtual hard disk files.",
    "Gives back the space of blocks that hold only zeros: a VHDX is compacted in place (its identity kept, so differencing children stay valid), other formats are rewritten. Every -Mode runs the same full pass. The disk must not be attached to a running virtual machine. Shows progress.")]
[CmdletExample("Optimize-VHD -Path ./base.vhdx -Mode Full", "Compacts base.vhdx.")]
[CmdletExample("Get-ChildItem *.vhdx | Optimize-VHD -Passthru | Select-Object Path, FileSize", "Compacts every VHDX file here and shows the new file sizes.")]
public sealed class OptimizeVhdCommand : VhdCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, HelpMessage = "The path of the disk file.")]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(HelpMessage = "Full (the default), Quick, Retrim, Pretrimmed or Prezeroed; all run the same full pass here.")]
    public VhdCompactMode Mode { get; set; } = VhdCompactMode.Full;

    [Parameter(HelpMessage = "Writes the optimized disk to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            string path = ResolveFilePath(p);
            if (!ShouldProcess(path, "Optimize-VHD")) continue;
            var request = new OptimizeVhdRequest { Path = path, Mode = Mode.ToApi() };
            var vhd = FollowProgress(c => VhdClient.OptimizeVhd(request, cancellationToken: c), $"Optimizing {path}", path);
            if (vhd is not null && Passthru) WriteObject(vhd);
        }
    }
}
