using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vhd;

[Cmdlet(VerbsDiagnostic.Test, "VHD")]
[OutputType(typeof(bool))]
[CmdletHelp("Tests whether virtual hard disks are usable.",
    "Checks each disk file's structures (for VHDX every header, region, metadata item, log and block entry; for other formats everything opening and reading the allocation needs, through the parent chain) without changing it. Writes True or False per file, and each problem found as a warning naming the structure and its file offset.")]
[CmdletExample("Test-VHD -Path ./base.vhdx", "Writes True when base.vhdx is sound.")]
[CmdletExample("Get-ChildItem *.vhdx | Test-VHD", "Tests every VHDX file in the current folder.")]
public sealed class TestVhdCommand : VhdCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, HelpMessage = "The path of the disk file.")]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            string path = ResolveFilePath(p);
            if (!TryCall(c => VhdClient.TestVhd(new TestVhdRequest { Path = path }, cancellationToken: c), path, out var result)) continue;
            foreach (var problem in result.Problems) WriteWarning($"{path}: {problem}");
            WriteObject(result.Ok);
        }
    }
}
