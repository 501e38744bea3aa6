using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Integration;

[Cmdlet(VerbsCommon.Copy, "VMFile", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Copies a file from the host into a running virtual machine.",
    "Copies a file of the host into the guest through its guest agent (hs-agent), without a network: the copy is checked by SHA-256 in the guest before it takes its place. The virtual machine's Guest Service Interface integration service must be enabled (it is off by default). -CreateFullPath makes the destination's missing folders; -Force replaces a file already there.")]
[CmdletExample("Copy-VMFile -Name web01 -SourcePath ./app.conf -DestinationPath /etc/app/app.conf -FileSource Host -CreateFullPath", "Copies app.conf into web01, making /etc/app if it is missing.")]
public sealed class CopyVmFileCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1, HelpMessage = "The file on the host to copy.")]
    [ValidateNotNullOrEmpty]
    public string SourcePath { get; set; } = "";

    [Parameter(Mandatory = true, Position = 2, HelpMessage = "Where the file goes in the guest: an absolute path.")]
    [ValidateNotNullOrEmpty]
    public string DestinationPath { get; set; } = "";

    [Parameter(Mandatory = true, HelpMessage = "Where the file comes from: Host (the only source Hyper-V has).")]
    public CopyFileSourceType FileSource { get; set; }

    [Parameter(HelpMessage = "Makes the destination's missing folders in the guest.")]
    public SwitchParameter CreateFullPath { get; set; }

    [Parameter(HelpMessage = "Replaces a file already at the destination.")]
    public SwitchParameter Force { get; set; }

    [Parameter(HelpMessage = "Writes the virtual machine to the pipeline once the file is copied.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!ShouldProcess(vm.Name, $"Copy-VMFile {SourcePath} to {DestinationPath}")) return;
        var request = new CopyVmFileRequest
        {
            Vm = Ref(vm), SourcePath = ResolveFilePath(SourcePath), DestinationPath = DestinationPath, CreateFullPath = CreateFullPath, Force = Force,
        };
        if (TryCall(c => VmHostClient.GuestIntegration.CopyVmFile(request, cancellationToken: c), vm, out _) && Passthru) WriteObject(vm);
    }
}
