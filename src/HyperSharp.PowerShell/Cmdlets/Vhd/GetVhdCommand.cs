using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vhd;

[Cmdlet(VerbsCommon.Get, "VHD", DefaultParameterSetName = "Path")]
[OutputType(typeof(VirtualHardDisk))]
[CmdletHelp("Gets the virtual hard disk objects for disk files.",
    "Describes virtual hard disk files: format (VHDX, VHD, raw), type, file and virtual sizes, the smallest size a shrink keeps, sector and block sizes, parent, disk identifier, and whether a virtual machine uses it. Takes paths, or the hard disk drives of a virtual machine (-VMId, or -VM: Get-VM's objects through the pipeline).")]
[CmdletExample("Get-VHD -Path ./base.vhdx", "Describes base.vhdx.")]
[CmdletExample("Get-VM web01 | Get-VHD", "Describes every disk attached to web01.")]
public sealed class GetVhdCommand : VhdCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path", ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, HelpMessage = "The path of the disk file.")]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = "VMId", ValueFromPipelineByPropertyName = true, HelpMessage = "The Id of a virtual machine whose disks to describe.")]
    public Guid[] VMId { get; set; } = [];

    // Piped VirtualMachine objects bind here by value, before their Path (the VM's folder) could bind to -Path by name.
    [Parameter(Mandatory = true, ParameterSetName = "VMObject", ValueFromPipeline = true, HelpMessage = "A virtual machine whose disks to describe, as Get-VM returns it (from the pipeline too).")]
    [ValidateNotNull]
    public VirtualMachine[] VM { get; set; } = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName is "VMId" or "VMObject")
        {
            foreach (var id in ParameterSetName == "VMId" ? VMId : VM.Select(v => v.Id))
            {
                if (!TryCall(c => VmHostClient.ListHardDiskDrives(new VmRef { Id = id.ToString("D") }, cancellationToken: c), id, out var drives)) continue;
                foreach (var drive in drives.Drives) Describe(drive.Path);
            }
            return;
        }
        foreach (var p in Path) Describe(ResolveFilePath(p));
    }

    private void Describe(string path)
    {
        if (TryCall(c => VhdClient.GetVhd(new GetVhdRequest { Path = path }, cancellationToken: c), path, out var vhd)) WriteObject(vhd.ToObject());
    }
}
