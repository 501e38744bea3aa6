using System.Management.Automation;
using HyperSharp.Api.V1;
using HyperSharp.PowerShell.Cmdlets.Snapshot;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

/// <summary>Export-VM -CaptureLiveState, with Hyper-V's names: what becomes of a Saved VM's memory (a running VM is refused).</summary>
public enum CaptureLiveState { CaptureSavedState, CaptureCrashConsistentState, CaptureDataConsistentState }

[Cmdlet(VerbsData.Export, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Exports a virtual machine to a folder.",
    "Writes the virtual machine, which must be Off or Saved, to a new folder PATH\\NAME: its configuration under 'Virtual Machines' (every path in it relative to the export), its disks with their whole differencing chains under 'Virtual Hard Disks', its checkpoints' memory states under 'Snapshots', and its saved state. The virtual machine itself is not changed; an existing PATH\\NAME is refused, and a failed export leaves nothing. Boot files (kernel, initrd) are the host's and are named, not copied.")]
[CmdletExample("Export-VM -Name web01 -Path /srv/exports", "Exports web01 to /srv/exports/web01.")]
[CmdletExample("Export-VM -Name web01 -Path /srv/exports -CaptureLiveState CaptureCrashConsistentState", "Exports the saved web01 without its memory: the import starts Off.")]
public sealed class ExportVmCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1, HelpMessage = "An existing folder; the export is made in PATH\\NAME.")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(HelpMessage = "What becomes of a Saved virtual machine's memory: kept (CaptureSavedState, the default) or dropped.")]
    public CaptureLiveState CaptureLiveState { get; set; } = CaptureLiveState.CaptureSavedState;

    [Parameter(HelpMessage = "Writes the virtual machine to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        string path = ResolveFilePath(Path);
        if (!ShouldProcess(vm.Name, $"Export-VM to {path}")) return;
        var request = new ExportVmRequest
        {
            Vm = Ref(vm), Path = path,
            CaptureLiveState = CaptureLiveState switch
            {
                CaptureLiveState.CaptureCrashConsistentState => Api.V1.CaptureLiveState.CrashConsistent,
                CaptureLiveState.CaptureDataConsistentState => Api.V1.CaptureLiveState.DataConsistent,
                _ => Api.V1.CaptureLiveState.SavedState,
            },
        };
        if (TryCall(c => VmHostClient.Exports.ExportVm(request, cancellationToken: c), vm, out _) && Passthru) WriteObject(vm);
    }
}

[Cmdlet(VerbsData.Export, "VMSnapshot", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[Alias("Export-VMCheckpoint")]
[CmdletHelp("Exports a virtual machine as it was at a checkpoint.",
    "Writes a new folder PATH\\NAME laid out as Export-VM's, holding the virtual machine as it was at the checkpoint: that checkpoint's settings, the disks it froze (each with its differencing chain, not flattened) and its memory state if it has one, without a checkpoint tree. The virtual machine and its checkpoints are not changed.")]
[CmdletExample("Export-VMSnapshot -VMName web01 -Name 'before upgrade' -Path /srv/exports", "Exports web01 as it was at 'before upgrade'.")]
public sealed class ExportVmSnapshotCommand : VmSnapshotChangeCmdlet
{
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = VMNameSet, HelpMessage = "The name of the checkpoint.")]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = VMObjectSet)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 2, HelpMessage = "An existing folder; the export is made in PATH\\NAME (the virtual machine's name).")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    protected override string[]? SnapshotNames => [Name];

    protected override void ProcessSnapshot(VMSnapshot snapshot)
    {
        string path = ResolveFilePath(Path);
        if (!ShouldProcess($"{snapshot.VMName}: {snapshot.Name}", $"Export-VMSnapshot to {path}")) return;
        TryCall(c => VmHostClient.Exports.ExportCheckpoint(new ExportCheckpointRequest { Checkpoint = snapshot.ToRef(), Path = path }, cancellationToken: c), snapshot, out _);
    }
}

[Cmdlet(VerbsData.Import, "VM", DefaultParameterSetName = RegisterSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Imports an exported virtual machine.",
    "Reads the configuration file of an export ('Virtual Machines\\ID.json') and registers the virtual machine in place, keeping its ID (-Register, the default), or copies its files first (-Copy) to -VhdDestinationPath, -VirtualMachinePath and -SnapshotFilePath (each defaulting to the host's folders), with a new ID and new dynamic MAC addresses when -GenerateNewId says so. It is refused, with Compare-VM's words, when the ID or the name is taken, a switch or a disk (or a parent disk) is missing, or the configuration is newer than this host reads; a corrupt or hostile export is refused naming its file. Nothing is registered half-way. A virtual machine exported Saved is imported Saved.")]
[CmdletExample("Import-VM -Path '/srv/exports/web01/Virtual Machines/5c6c602c-71ad-4ab7-a78b-db03d5fec0b1.json'", "Registers the export in place, keeping its ID.")]
[CmdletExample("Import-VM -Path $file -Copy -GenerateNewId -NewName web02 -VhdDestinationPath /srv/vhds", "Copies it beside the original with a new ID and name.")]
public sealed class ImportVmCommand : HyperSharpCmdlet
{
    private const string RegisterSet = "Register", CopySet = "Copy";

    [Parameter(Mandatory = true, Position = 0, HelpMessage = "The export's configuration file: EXPORT\\Virtual Machines\\ID.json.")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(ParameterSetName = RegisterSet, HelpMessage = "Registers the export's files in place, keeping the ID (the default).")]
    public SwitchParameter Register { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = CopySet, HelpMessage = "Copies the export's files before registering the copy.")]
    public SwitchParameter Copy { get; set; }

    [Parameter(ParameterSetName = CopySet, HelpMessage = "Gives the copy a new ID, new adapter IDs and new dynamic MAC addresses.")]
    public SwitchParameter GenerateNewId { get; set; }

    [Parameter(ParameterSetName = CopySet, HelpMessage = "Where the copied disks go (default: the host's virtual hard disk folder).")]
    public string? VhdDestinationPath { get; set; }

    [Parameter(ParameterSetName = CopySet, HelpMessage = "The folder the virtual machine's folder goes in (default: the host's inventory).")]
    public string? VirtualMachinePath { get; set; }

    [Parameter(ParameterSetName = CopySet, HelpMessage = "Where the checkpoints' memory states go (default: the virtual machine's folder).")]
    public string? SnapshotFilePath { get; set; }

    [Parameter(HelpMessage = "A name for the imported virtual machine: names are unique on a HyperSharp host (an addition to Hyper-V's parameters).")]
    public string? NewName { get; set; }

    protected override void ProcessRecord()
    {
        var request = ImportRequests.Of(ResolveFilePath, Path, Copy, GenerateNewId, VhdDestinationPath, VirtualMachinePath, SnapshotFilePath, NewName);
        if (!ShouldProcess(request.Path, Copy ? "Import-VM (copy)" : "Import-VM (register in place)")) return;
        if (TryCall(c => VmHostClient.Exports.ImportVm(request, cancellationToken: c), request.Path, out var vm)) WriteObject(vm.ToObject(HostName));
    }
}

/// <summary>Import-VM's and Compare-VM -Path's request, the paths resolved as PowerShell resolves them.</summary>
internal static class ImportRequests
{
    public static ImportVmRequest Of(Func<string, string> resolve, string path, bool copy, bool newId, string? vhds, string? home, string? states, string? newName) => new()
    {
        Path = resolve(path), Copy = copy, GenerateNewId = newId,
        VhdDestinationPath = vhds is { Length: > 0 } ? resolve(vhds) : "",
        VirtualMachinePath = home is { Length: > 0 } ? resolve(home) : "",
        SnapshotFilePath = states is { Length: > 0 } ? resolve(states) : "",
        NewName = newName ?? "",
    };
}
