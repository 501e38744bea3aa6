using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vhd;

[Cmdlet(VerbsData.Convert, "VHD", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualHardDisk))]
[CmdletHelp("Converts the format or type of a virtual hard disk.",
    "Copies what a disk shows (a differencing disk through its whole chain) into a new file whose extension gives the format (.vhdx, .vhd, anything else raw) and whose type is -VHDType (fixed or dynamic; the default keeps the source's, a chain becomes dynamic). Runs of zeros are not copied. The destination must not exist. Shows progress.")]
[CmdletExample("Convert-VHD -Path ./old.vhd -DestinationPath ./new.vhdx", "Converts a VHD into a VHDX of the same type.")]
[CmdletExample("Convert-VHD -Path ./child.avhdx -DestinationPath ./flat.vhdx -VHDType Fixed -DeleteSource", "Flattens a differencing chain into one fixed disk and deletes the child.")]
public sealed class ConvertVhdCommand : VhdCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The path of the disk to convert.")]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, HelpMessage = "The path of the new disk file.")]
    [ValidateNotNullOrEmpty]
    public string DestinationPath { get; set; } = "";

    [Parameter(HelpMessage = "The type of the new disk: Fixed or Dynamic.")]
    [ValidateSet("Fixed", "Dynamic")]
    public VhdType VHDType { get; set; } = VhdType.Unknown;

    [Parameter(HelpMessage = "The block size of the new disk in bytes; the format's default when omitted.")]
    public uint BlockSizeBytes { get; set; }

    [Parameter(HelpMessage = "Deletes the source file once the conversion has succeeded.")]
    public SwitchParameter DeleteSource { get; set; }

    [Parameter(HelpMessage = "Writes the new disk to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessRecord()
    {
        string source = ResolveFilePath(Path), destination = ResolveFilePath(DestinationPath);
        if (!ShouldProcess(source, $"Convert-VHD to {destination}")) return;
        var request = new ConvertVhdRequest
        {
            Path = source,
            DestinationPath = destination,
            VhdType = VHDType.ToApi(),
            BlockSizeBytes = BlockSizeBytes,
            DeleteSource = DeleteSource,
        };
        var vhd = FollowProgress(c => VhdClient.ConvertVhd(request, cancellationToken: c), $"Converting {source} to {destination}", source);
        if (vhd is not null && Passthru) WriteObject(vhd);
    }
}
