using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.Set, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Configures a virtual machine.",
    "Changes the settings given, leaves the others as they are. Processor count, startup memory and the boot source need the virtual machine Off; notes and automatic actions can change at any time.")]
[CmdletExample("Set-VM -Name web01 -ProcessorCount 2 -MemoryStartupBytes 1GB -Notes 'front end'", "Gives web01 two processors and 1 GB of memory and sets its notes.")]
public sealed class SetVmCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "The number of virtual processors.")]
    public long? ProcessorCount { get; set; }

    [Parameter(HelpMessage = "The memory the virtual machine starts with, in bytes (1GB works).")]
    public long? MemoryStartupBytes { get; set; }

    [Parameter(HelpMessage = "Free text about the virtual machine.")]
    public string? Notes { get; set; }

    [Parameter(HelpMessage = "A new name for the virtual machine.")]
    [ValidateNotNullOrEmpty]
    public string? NewVMName { get; set; }

    [Parameter(HelpMessage = "What the host does with the virtual machine when the host starts: Nothing, StartIfRunning or Start.")]
    public StartAction? AutomaticStartAction { get; set; }

    [Parameter(HelpMessage = "Seconds to wait before the automatic start.")]
    public int? AutomaticStartDelay { get; set; }

    [Parameter(HelpMessage = "What the host does with the running virtual machine when the host stops: TurnOff, Save or ShutDown.")]
    public StopAction? AutomaticStopAction { get; set; }

    [Parameter(HelpMessage = "Which checkpoints the virtual machine takes: Disabled (Checkpoint-VM refused), Production (the default), ProductionOnly or Standard. A production checkpoint of a running VM has its guest agent freeze the file systems (VSS integration service) and keeps no memory; when it cannot be taken, Production takes a standard one with a warning and ProductionOnly is refused.")]
    public CheckpointType? CheckpointType { get; set; }

    [Parameter(HelpMessage = "The Linux kernel the virtual machine boots.")]
    public string? KernelPath { get; set; }

    [Parameter(HelpMessage = "The initial RAM disk given to the kernel.")]
    public string? InitrdPath { get; set; }

    [Parameter(HelpMessage = "The kernel command line.")]
    public string? KernelCommandLine { get; set; }

    [Parameter(HelpMessage = "The CPU backend: auto, kvm or emulated.")]
    [ValidateSet("auto", "kvm", "emulated")]
    public string? Backend { get; set; }

    [Parameter(HelpMessage = "Writes the changed virtual machine to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        var request = new UpdateVmRequest { Vm = Ref(vm) };
        if (ProcessorCount is { } count) request.ProcessorCount = (int)Math.Clamp(count, int.MinValue, int.MaxValue);
        if (MemoryStartupBytes is { } memory) request.MemoryStartupBytes = memory;
        if (Notes is not null) request.Notes = Notes;
        if (NewVMName is not null) request.NewName = NewVMName;
        if (AutomaticStartAction is { } start) request.AutomaticStartAction = start.ToApi();
        if (AutomaticStartDelay is { } delay) request.AutomaticStartDelaySeconds = delay;
        if (AutomaticStopAction is { } stop) request.AutomaticStopAction = stop.ToApi();
        if (CheckpointType is { } checkpoints) request.CheckpointType = checkpoints.ToApi();
        if (KernelPath is not null) request.KernelPath = ResolveFilePath(KernelPath);
        if (InitrdPath is not null) request.InitrdPath = InitrdPath.Length == 0 ? "" : ResolveFilePath(InitrdPath);
        if (KernelCommandLine is not null) request.KernelCommandLine = KernelCommandLine;
        if (Backend is not null) request.Backend = Backend;
        Change(vm, "Set-VM", Passthru, c => VmHostClient.UpdateVm(request, cancellationToken: c));
    }
}
