using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vhd;

[Cmdlet(VerbsData.Merge, "VHD", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualHardDisk))]
[CmdletHelp("Merges virtual hard disks.",
    "Merges a differencing disk into its parent, or into the ancestor -DestinationPath names (every disk in between is merged too); the merged files are deleted, as Hyper-V does. A -DestinationPath that does not exist yet receives the whole chain as a new standalone disk and the chain is left as it is (a HyperSharp addition). Shows progress.")]
[CmdletExample("Merge-VHD -Path ./child.avhdx", "Merges child.avhdx into its parent and deletes it.")]
[CmdletExample("Merge-VHD -Path ./grandchild.avhdx -DestinationPath ./base.vhdx -Passthru", "Merges two levels into base.vhdx and shows it.")]
public sealed class MergeVhdCommand : VhdCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The path of the differencing disk to merge.")]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Position = 1, HelpMessage = "The ancestor to merge into; the parent when omitted.")]
    [ValidateNotNullOrEmpty]
    public string? DestinationPath { get; set; }

    [Parameter(HelpMessage = "Merges without asking for confirmation.")]
    public SwitchParameter Force { get; set; }

    [Parameter(HelpMessage = "Writes the disk that received the data to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            string path = ResolveFilePath(p);
            string destination = DestinationPath is null ? "" : ResolveFilePath(DestinationPath);
            if (!ShouldProcess(path, destination.Length == 0 ? "Merge-VHD into its parent" : $"Merge-VHD into {destination}")) continue;
            var request = new MergeVhdRequest { Path = path, DestinationPath = destination };
            var vhd = FollowProgress(c => VhdClient.MergeVhd(request, cancellationToken: c), $"Merging {path}", path);
            if (vhd is not null && Passthru) WriteObject(vhd);
        }
    }
}
