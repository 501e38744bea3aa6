using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vhd;

[Cmdlet(VerbsCommon.Resize, "VHD", DefaultParameterSetName = "Size", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualHardDisk))]
[CmdletHelp("Resizes virtual hard disks.",
    "Grows or shrinks the virtual size of disk files. A shrink never drops data: it is refused below the end of the last stored data (Get-VHD's MinimumSize); -ToMinimumSize shrinks to exactly that.")]
[CmdletExample("Resize-VHD -Path ./base.vhdx -SizeBytes 40GB", "Grows base.vhdx to 40 GB.")]
[CmdletExample("Resize-VHD -Path ./base.vhdx -ToMinimumSize -Passthru", "Shrinks base.vhdx as far as its data allows and shows the result.")]
public sealed class ResizeVhdCommand : VhdCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The path of the disk file.")]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Size", HelpMessage = "The new virtual size in bytes (40GB works).")]
    public ulong SizeBytes { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "MinimumSize", HelpMessage = "Shrinks the disk to the smallest size that keeps its data.")]
    public SwitchParameter ToMinimumSize { get; set; }

    [Parameter(HelpMessage = "Writes the resized disk to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            string path = ResolveFilePath(p);
            if (!ShouldProcess(path, ToMinimumSize ? "Resize-VHD to the minimum size" : $"Resize-VHD to {SizeBytes} bytes")) continue;
            var request = new ResizeVhdRequest { Path = path, SizeBytes = (long)Math.Min(SizeBytes, long.MaxValue), ToMinimumSize = ToMinimumSize };
            if (TryCall(c => VhdClient.ResizeVhd(request, cancellationToken: c), path, out var vhd) && Passthru) WriteObject(vhd.ToObject());
        }
    }
}
