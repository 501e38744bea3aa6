using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

/// <summary>
/// A cmdlet that acts on hard disk drives named either as Get-VMHardDiskDrive's objects (from the pipeline) or by their
/// address: the VM's name, controller type, number and location — as Remove- and Set-VMHardDiskDrive take them.
/// </summary>
public abstract class DriveSelectionCmdlet : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Object", ValueFromPipeline = true, HelpMessage = "The drives, as Get-VMHardDiskDrive returns them.")]
    [ValidateNotNull]
    public HardDiskDrive[] VMHardDiskDrive { get; set; } = [];

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Address", HelpMessage = "The name of the virtual machine.")]
    [ValidateNotNullOrEmpty]
    public string VMName { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Address", HelpMessage = "The controller type of the drive: IDE or SCSI.")]
    public ControllerType ControllerType { get; set; }

    [Parameter(Mandatory = true, Position = 2, ParameterSetName = "Address", HelpMessage = "The controller number of the drive.")]
    public int ControllerNumber { get; set; }

    [Parameter(Mandatory = true, Position = 3, ParameterSetName = "Address", HelpMessage = "The controller location of the drive.")]
    public int ControllerLocation { get; set; }

    protected sealed override void ProcessRecord()
    {
        if (ParameterSetName == "Address")
        {
            ProcessDrive(new VmRef { Name = VMName }, VMName, ControllerType, ControllerNumber, ControllerLocation, null);
            return;
        }
        foreach (var d in VMHardDiskDrive)
            ProcessDrive(new VmRef { Id = d.VMId.ToString("D") }, d.VMName, d.ControllerType, d.ControllerNumber, d.ControllerLocation, d);
    }

    /// <summary>One drive, by its VM and address; <paramref name="drive"/> is the pipeline's object when it came from there.</summary>
    protected abstract void ProcessDrive(VmRef vm, string vmName, ControllerType type, int number, int location, HardDiskDrive? drive);
}
