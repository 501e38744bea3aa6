using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vhd;

[Cmdlet(VerbsCommon.New, "VHD", DefaultParameterSetName = DynamicSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(VirtualHardDisk))]
[CmdletHelp("Creates virtual hard disks.",
    "Creates a new VHDX or VHD file (the extension decides): dynamic by default, fixed with -Fixed, or differencing on a parent with -ParentPath. Defaults follow Hyper-V: 32 MB blocks for dynamic VHDX (2 MB for differencing and VHD), 512-byte logical and 4096-byte physical sectors. An existing file is never overwritten.")]
[CmdletExample("New-VHD -Path ./base.vhdx -SizeBytes 20GB", "Creates a 20 GB dynamic VHDX.")]
[CmdletExample("New-VHD -Path ./child.avhdx -ParentPath ./base.vhdx -Differencing", "Creates a differencing disk whose reads fall through to base.vhdx.")]
[CmdletExample("New-VHD -Path ./fixed.vhdx -SizeBytes 1GB -Fixed -LogicalSectorSizeBytes 4096", "Creates a fixed 1 GB VHDX with 4096-byte logical sectors.")]
public sealed class NewVhdCommand : HyperSharpCmdlet
{
    private const string DynamicSet = "DynamicWithoutSource";
    private const string FixedSet = "FixedWithoutSource";
    private const string DifferencingSet = "Differencing";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The path of the new disk file: .vhdx or .vhd.")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = DynamicSet, HelpMessage = "The size of the virtual disk in bytes (20GB works).")]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = FixedSet)]
    [Parameter(ParameterSetName = DifferencingSet)]
    public ulong SizeBytes { get; set; }

    [Parameter(ParameterSetName = DynamicSet, HelpMessage = "Creates a dynamic disk: the file grows as data is written (the default).")]
    public SwitchParameter Dynamic { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = FixedSet, HelpMessage = "Creates a fixed disk: the file holds the whole size from the start.")]
    public SwitchParameter Fixed { get; set; }

    [Parameter(ParameterSetName = DifferencingSet, HelpMessage = "Creates a differencing disk (implied by -ParentPath).")]
    public SwitchParameter Differencing { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = DifferencingSet, HelpMessage = "The parent disk of a differencing disk.")]
    [ValidateNotNullOrEmpty]
    public string ParentPath { get; set; } = "";

    [Parameter(HelpMessage = "The block size in bytes: a power of two from 1MB to 256MB for VHDX; the format's default when omitted.")]
    public uint BlockSizeBytes { get; set; }

    [Parameter(HelpMessage = "The logical sector size in bytes: 512 (the default) or 4096 (VHDX only).")]
    [ValidateSet("512", "4096")]
    public uint LogicalSectorSizeBytes { get; set; }

    [Parameter(HelpMessage = "The physical sector size in bytes: 512 or 4096 (the VHDX default).")]
    [ValidateSet("512", "4096")]
    public uint PhysicalSectorSizeBytes { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            string path = ResolveFilePath(p);
            if (!ShouldProcess(path, "New-VHD")) continue;
            var request = new NewVhdRequest
            {
                Path = path,
                SizeBytes = (long)Math.Min(SizeBytes, long.MaxValue),
                Type = ParameterSetName switch
                {
                    FixedSet => Api.V1.VhdType.Fixed,
                    DifferencingSet => Api.V1.VhdType.Differencing,
                    _ => Api.V1.VhdType.Dynamic,
                },
                ParentPath = ParameterSetName == DifferencingSet ? ResolveFilePath(ParentPath) : "",
                BlockSizeBytes = BlockSizeBytes,
                LogicalSectorSizeBytes = (int)LogicalSectorSizeBytes,
                PhysicalSectorSizeBytes = (int)PhysicalSectorSizeBytes,
            };
            if (TryCall(c => VhdClient.NewVhd(request, cancellationToken: c), path, out var vhd)) WriteObject(vhd.ToObject());
        }
    }
}
