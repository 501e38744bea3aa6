using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Migration;

[Cmdlet(VerbsCommon.Move, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Moves a running virtual machine to another host.",
    "Live-migrates each running virtual machine to the destination host with shared storage: its files stay where they are (both hosts must see them at the same paths), its running state and configuration move. Both hosts must have live migration enabled (Enable-VMMigration) and trust each other's certificates (mutual TLS). A move that fails before the handover leaves the virtual machine running here; the error says why.")]
[CmdletExample("Move-VM -Name web01 -DestinationHost host2", "Moves web01 to host2 (port 7443) while it runs.")]
[CmdletExample("Get-VM web* | Move-VM -DestinationHost 10.0.0.2:7443 -Passthru", "Moves every web virtual machine and shows them on the destination.")]
public sealed class MoveVmCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1, HelpMessage = "The host to move to: NAME, NAME:PORT (default port 7443) or https://NAME:PORT.")]
    [ValidateNotNullOrEmpty]
    public string DestinationHost { get; set; } = "";

    [Parameter(HelpMessage = "Writes the virtual machine, as the destination runs it, to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!ShouldProcess(vm.Name, $"Move-VM to {DestinationHost}")) return;
        var request = new MoveVmRequest { Vm = Ref(vm), DestinationHost = DestinationHost };
        if (TryCall(c => VmHostClient.LiveMigration.MoveVm(request, cancellationToken: c), vm, out var moved) && Passthru) WriteObject(moved.Vm.ToObject(DestinationHost));
    }
}

[Cmdlet(VerbsData.Compare, "VM", DefaultParameterSetName = NameSet)]
[OutputType(typeof(VMCompatibilityReport))]
[CmdletHelp("Tells what would stop a virtual machine from moving to another host.",
    "Checks, on this host and on the destination, what would stop Move-VM: live migration disabled on either host, the virtual machine not running, its name or ID taken on the destination, its files not reachable there at the same paths, not enough memory there, the hosts not trusting each other. Nothing moves.")]
[CmdletExample("(Compare-VM -Name web01 -DestinationHost host2).Incompatibilities.Message", "Lists what would stop web01 from moving to host2; nothing when it would move.")]
[CmdletExample("(Compare-VM -Path $file -Copy -GenerateNewId).Incompatibilities | Format-Table Source, Message", "Lists what would stop Import-VM of an export (with -Path: a missing switch or disk, a parent disk, a newer configuration version, an ID or name in use).")]
public sealed class CompareVmCommand : VmTargetCmdlet
{
    private const string ImportSet = "Import";

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameSet, HelpMessage = "The host the virtual machine would move to: NAME, NAME:PORT (default port 7443) or https://NAME:PORT.")]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = VMObjectSet)]
    [ValidateNotNullOrEmpty]
    public string DestinationHost { get; set; } = "";

    // Import-VM's parameters, for the report of an import (-Path); the same words Import-VM refuses with.
    [Parameter(Mandatory = true, ParameterSetName = ImportSet, HelpMessage = "The export's configuration file (EXPORT\\Virtual Machines\\ID.json): report what would stop Import-VM instead of a move.")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(ParameterSetName = ImportSet, HelpMessage = "As Import-VM -Copy.")]
    public SwitchParameter Copy { get; set; }

    [Parameter(ParameterSetName = ImportSet, HelpMessage = "As Import-VM -GenerateNewId.")]
    public SwitchParameter GenerateNewId { get; set; }

    [Parameter(ParameterSetName = ImportSet, HelpMessage = "As Import-VM -VhdDestinationPath.")]
    public string? VhdDestinationPath { get; set; }

    [Parameter(ParameterSetName = ImportSet, HelpMessage = "As Import-VM -VirtualMachinePath.")]
    public string? VirtualMachinePath { get; set; }

    [Parameter(ParameterSetName = ImportSet, HelpMessage = "As Import-VM -SnapshotFilePath.")]
    public string? SnapshotFilePath { get; set; }

    [Parameter(ParameterSetName = ImportSet, HelpMessage = "As Import-VM -NewName.")]
    public string? NewName { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName != ImportSet)
        {
            base.ProcessRecord();
            return;
        }
        var request = Vm.ImportRequests.Of(ResolveFilePath, Path, Copy, GenerateNewId, VhdDestinationPath, VirtualMachinePath, SnapshotFilePath, NewName);
        if (TryCall(c => VmHostClient.Exports.CompareImport(request, cancellationToken: c), request.Path, out var report))
            WriteObject(new VMCompatibilityReport
            {
                VMName = report.VmName, DestinationHost = HostName, Path = report.Path,
                Incompatibilities = [.. report.Incompatibilities.Select(i => new VMCompatibilityError { Message = i.Message, Source = i.Source, Kind = i.Kind })],
            });
    }

    protected override void ProcessVm(VirtualMachine vm)
    {
        var request = new MoveVmRequest { Vm = Ref(vm), DestinationHost = DestinationHost };
        if (TryCall(c => VmHostClient.LiveMigration.CompareVm(request, cancellationToken: c), vm, out var report))
            WriteObject(new VMCompatibilityReport
            {
                VMName = vm.Name, DestinationHost = DestinationHost,
                Incompatibilities = [.. report.Incompatibilities.Select(m => new VMCompatibilityError { Message = m })],
            });
    }
}

/// <summary>Compare-VM's answer: what would stop the move (nothing: it would be tried).</summary>
public sealed class VMCompatibilityReport
{
    public required string VMName { get; init; }
    public required string DestinationHost { get; init; }
    public required VMCompatibilityError[] Incompatibilities { get; init; }
    /// <summary>Of an import's report (Compare-VM -Path): the export's configuration file.</summary>
    public string? Path { get; init; }
}

/// <summary>One thing that would stop a move or an import.</summary>
public sealed class VMCompatibilityError
{
    public required string Message { get; init; }
    /// <summary>Of an import's report: what in the export it concerns (a drive, an adapter, the virtual machine).</summary>
    public string? Source { get; init; }
    /// <summary>Of an import's report: the kind (IdInUse, NameInUse, SwitchMissing, MacInUse, DiskMissing, ParentMissing, StateMissing, BootFileMissing, NewerVersion).</summary>
    public string? Kind { get; init; }
}
