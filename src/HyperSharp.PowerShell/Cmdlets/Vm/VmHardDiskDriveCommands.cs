using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.Add, "VMHardDiskDrive", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(HardDiskDrive))]
[CmdletHelp("Adds a hard disk drive to a virtual machine.",
    "Attaches a virtual hard disk file to each virtual machine, on the SCSI controller unless -ControllerType IDE is given, at the first free location unless -ControllerLocation is given. SCSI drives can be added to a running virtual machine (the guest sees a new disk); IDE drives need it Off.")]
[CmdletExample("Add-VMHardDiskDrive -VMName web01 -Path /var/lib/hypersharp/disks/data.vhdx", "Attaches data.vhdx to web01 on the SCSI controller.")]
[CmdletExample("Get-VM web01 | Add-VMHardDiskDrive -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 2 -Path ./logs.vhdx -Passthru", "Attaches logs.vhdx at SCSI 0:2 and shows the new drive.")]
public sealed class AddVmHardDiskDriveCommand : VmTargetCmdlet
{
    [Parameter(Position = 1, HelpMessage = "The controller type: SCSI (the default) or IDE.")]
    public ControllerType? ControllerType { get; set; }

    [Parameter(Position = 2, HelpMessage = "The number of the controller (the default is 0).")]
    [ValidateRange(0, 63)]
    public int ControllerNumber { get; set; }

    [Parameter(Position = 3, HelpMessage = "The location on the controller; the first free one when omitted.")]
    [ValidateRange(0, 63)]
    public int? ControllerLocation { get; set; }

    [Parameter(Mandatory = true, Position = 4, ValueFromPipelineByPropertyName = true, HelpMessage = "The path of the virtual hard disk file to attach.")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(HelpMessage = "Attaches the disk read-only.")]
    public SwitchParameter ReadOnly { get; set; }

    [Parameter(HelpMessage = "Writes the new drive to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        string path = ResolveFilePath(Path);
        if (!ShouldProcess(vm.Name, $"Add-VMHardDiskDrive {path}")) return;
        var request = new AddHardDiskDriveRequest
        {
            Vm = Ref(vm),
            Path = path,
            ControllerType = (ControllerType ?? PowerShell.ControllerType.SCSI).ToApi(),
            ControllerNumber = ControllerNumber,
            ReadOnly = ReadOnly,
        };
        if (ControllerLocation is { } location) request.ControllerLocation = location;
        if (TryCall(c => VmHostClient.AddHardDiskDrive(request, cancellationToken: c), vm, out var drive) && Passthru)
            WriteObject(drive.ToObject(HostName));
    }
}

[Cmdlet(VerbsCommon.Get, "VMHardDiskDrive", DefaultParameterSetName = NameSet)]
[OutputType(typeof(HardDiskDrive))]
[CmdletHelp("Gets the hard disk drives of a virtual machine.",
    "Gets each virtual machine's hard disk drives, optionally only those on one controller type, number or location.")]
[CmdletExample("Get-VMHardDiskDrive -VMName web01", "Lists web01's drives with their controllers and paths.")]
[CmdletExample("Get-VM | Get-VMHardDiskDrive | Get-VHD", "Describes the disk file behind every drive of every virtual machine.")]
public sealed class GetVmHardDiskDriveCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "Only drives on this controller type.")]
    public ControllerType? ControllerType { get; set; }

    [Parameter(HelpMessage = "Only drives on this controller number.")]
    public int? ControllerNumber { get; set; }

    [Parameter(HelpMessage = "Only drives at this controller location.")]
    public int? ControllerLocation { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!TryCall(c => VmHostClient.ListHardDiskDrives(Ref(vm), cancellationToken: c), vm, out var list)) return;
        foreach (var d in list.Drives)
        {
            var drive = d.ToObject(HostName);
            if (ControllerType is { } type && drive.ControllerType != type) continue;
            if (ControllerNumber is { } number && drive.ControllerNumber != number) continue;
            if (ControllerLocation is { } location && drive.ControllerLocation != location) continue;
            WriteObject(drive);
        }
    }
}

[Cmdlet(VerbsCommon.Remove, "VMHardDiskDrive", DefaultParameterSetName = "Object", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(HardDiskDrive))]
[CmdletHelp("Removes a hard disk drive from a virtual machine.",
    "Detaches drives from their virtual machines; the disk files stay. SCSI drives can be removed from a running virtual machine; IDE drives need it Off.")]
[CmdletExample("Get-VMHardDiskDrive -VMName web01 -ControllerLocation 1 | Remove-VMHardDiskDrive", "Detaches web01's drive at location 1.")]
[CmdletExample("Remove-VMHardDiskDrive -VMName web01 -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 1", "The same, by controller address.")]
public sealed class RemoveVmHardDiskDriveCommand : DriveSelectionCmdlet
{
    [Parameter(HelpMessage = "Writes the removed drives to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessDrive(VmRef vm, string vmName, ControllerType type, int number, int location, HardDiskDrive? drive)
    {
        string where = $"{type} {number}:{location} of '{vmName}'";
        if (!ShouldProcess(where, "Remove-VMHardDiskDrive")) return;
        var request = new RemoveHardDiskDriveRequest { Vm = vm, ControllerType = type.ToApi(), ControllerNumber = number, ControllerLocation = location };
        if (TryCall(c => VmHostClient.RemoveHardDiskDrive(request, cancellationToken: c), (object?)drive ?? where, out _) && Passthru && drive is not null)
            WriteObject(drive);
    }
}

[Cmdlet(VerbsCommon.Set, "VMHardDiskDrive", DefaultParameterSetName = "Object", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(HardDiskDrive))]
[CmdletHelp("Configures a hard disk drive of a virtual machine.",
    "Sets a drive's Storage QoS in normalized IOPS, where each 8 KiB of a request counts as one: -MaximumIOPS caps the drive (0 removes the cap); -MinimumIOPS raises an alert in the host's log when the drive, kept busy, gets fewer (it is not a reservation; 0 removes it). Takes effect at once on a running virtual machine.")]
[CmdletExample("Set-VMHardDiskDrive -VMName web01 -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 1 -MaximumIOPS 500", "Caps web01's drive at SCSI 0:1 to 500 normalized IOPS (about 4 MB/s).")]
[CmdletExample("Get-VMHardDiskDrive -VMName web01 | Set-VMHardDiskDrive -MaximumIOPS 0 -MinimumIOPS 100 -Passthru", "Removes the caps of all web01's drives, alerts below 100 IOPS, and shows the drives.")]
public sealed class SetVmHardDiskDriveCommand : DriveSelectionCmdlet
{
    [Parameter(HelpMessage = "The most normalized IOPS (8 KiB units) the drive may do; 0 for no limit.")]
    public ulong? MaximumIOPS { get; set; }

    [Parameter(HelpMessage = "Normalized IOPS below which a busy drive raises an alert; 0 for none.")]
    public ulong? MinimumIOPS { get; set; }

    [Parameter(HelpMessage = "Writes the drives as they are now to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessDrive(VmRef vm, string vmName, ControllerType type, int number, int location, HardDiskDrive? drive)
    {
        string where = $"{type} {number}:{location} of '{vmName}'";
        if (!ShouldProcess(where, "Set-VMHardDiskDrive")) return;
        var request = new SetHardDiskDriveRequest { Vm = vm, ControllerType = type.ToApi(), ControllerNumber = number, ControllerLocation = location };
        if (MaximumIOPS is { } maximum) request.MaximumIops = checked((long)maximum);
        if (MinimumIOPS is { } minimum) request.MinimumIops = checked((long)minimum);
        if (TryCall(c => VmHostClient.SetHardDiskDrive(request, cancellationToken: c), (object?)drive ?? where, out var changed) && Passthru)
            WriteObject(changed.ToObject(HostName));
    }
}
