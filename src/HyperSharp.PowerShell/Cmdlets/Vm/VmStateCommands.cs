using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

// The power-state cmdlets: each sends one request per VM (VmTargetCmdlet.Change) and, with -Passthru,
// writes the VM as the host left it (Running after Start-VM, Off after Stop-VM, ...).

[Cmdlet(VerbsLifecycle.Start, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Starts a virtual machine.",
    "Starts each virtual machine: the host launches its worker process, which boots it (or restores its saved state). Returns when the virtual machine is Running.")]
[CmdletExample("Get-VM -Name test* | Start-VM -Passthru", "Starts every virtual machine whose name begins with test and shows them running.")]
public sealed class StartVmCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "Writes the virtual machine to the pipeline when it has started.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        Change(vm, "Start-VM", Passthru, c => VmHostClient.StartVm(Ref(vm), cancellationToken: c));
    }
}

[Cmdlet(VerbsLifecycle.Stop, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Shuts down, turns off or saves a virtual machine.",
    "Shuts each virtual machine down through its guest: its guest agent when the Shutdown integration service is on and the agent answers, else the ACPI power button. -TurnOff cuts the power at once, like pulling the plug; -Force turns the virtual machine off when the guest does not shut down in time; -Save saves its state instead (as Save-VM).")]
[CmdletExample("Stop-VM -Name web01", "Asks the guest of web01 to shut down and waits until it is off.")]
[CmdletExample("Get-VM | Where-Object State -eq 'Running' | Stop-VM -TurnOff", "Turns off every running virtual machine at once.")]
public sealed class StopVmCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "Turns the virtual machine off when its guest does not shut down in time.")]
    public SwitchParameter Force { get; set; }

    [Parameter(HelpMessage = "Cuts the power at once instead of shutting the guest down.")]
    public SwitchParameter TurnOff { get; set; }

    [Parameter(HelpMessage = "Saves the virtual machine's state instead of shutting it down.")]
    public SwitchParameter Save { get; set; }

    [Parameter(HelpMessage = "Writes the virtual machine to the pipeline when it has stopped.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (Save && TurnOff) ThrowParameterError(nameof(Save), "-Save and -TurnOff cannot be used together", vm);
        if (Save)
        {
            Change(vm, "Save-VM", Passthru, c => VmHostClient.SaveVm(Ref(vm), cancellationToken: c));
            return;
        }
        var request = new StopVmRequest { Vm = Ref(vm), TurnOff = TurnOff, Force = Force };
        Change(vm, TurnOff ? "Stop-VM -TurnOff" : "Stop-VM", Passthru, c => VmHostClient.StopVm(request, cancellationToken: c));
    }
}

[Cmdlet(VerbsData.Save, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Saves a virtual machine.",
    "Saves each running virtual machine's memory and device state to its folder and stops its worker process. Start-VM continues it where it stopped.")]
[CmdletExample("Save-VM -Name web01", "Saves web01; its state becomes Saved.")]
public sealed class SaveVmCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "Writes the virtual machine to the pipeline when it is saved.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        Change(vm, "Save-VM", Passthru, c => VmHostClient.SaveVm(Ref(vm), cancellationToken: c));
    }
}

[Cmdlet(VerbsLifecycle.Suspend, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Pauses a virtual machine.",
    "Pauses each running virtual machine: its processors stop, its memory stays in the worker process. Resume-VM lets it run again.")]
[CmdletExample("Suspend-VM -Name web01", "Pauses web01; its state becomes Paused.")]
public sealed class SuspendVmCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "Writes the virtual machine to the pipeline when it is paused.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        Change(vm, "Suspend-VM", Passthru, c => VmHostClient.SuspendVm(Ref(vm), cancellationToken: c));
    }
}

[Cmdlet(VerbsLifecycle.Resume, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Resumes a paused virtual machine.", "Lets each paused virtual machine run again.")]
[CmdletExample("Get-VM | Where-Object State -eq 'Paused' | Resume-VM", "Resumes every paused virtual machine.")]
public sealed class ResumeVmCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "Writes the virtual machine to the pipeline when it runs again.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        Change(vm, "Resume-VM", Passthru, c => VmHostClient.ResumeVm(Ref(vm), cancellationToken: c));
    }
}

[Cmdlet(VerbsLifecycle.Restart, "VM", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Restarts a virtual machine.",
    "Restarts each running virtual machine: by default a hard reset (-Type Reset); -Type Reboot asks the guest to restart itself. Asks for confirmation unless -Force is given.")]
[CmdletExample("Restart-VM -Name web01 -Force", "Resets web01 without asking for confirmation.")]
public sealed class RestartVmCommand : VmTargetCmdlet
{
    [Parameter(HelpMessage = "Restarts without asking for confirmation.")]
    public SwitchParameter Force { get; set; }

    [Parameter(HelpMessage = "Reset (the default) resets the virtual machine at once; Reboot asks the guest to restart.")]
    public RestartType Type { get; set; } = RestartType.Reset;

    [Parameter(HelpMessage = "Writes the virtual machine to the pipeline when it has restarted.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        if (!ShouldProcess(vm.Name, "Restart-VM")) return;
        if (!Force && !ShouldContinue($"Restart the virtual machine '{vm.Name}'? Its guest loses what it has not saved.", "Restart-VM")) return;
        var request = new RestartVmRequest { Vm = Ref(vm), Force = Type == RestartType.Reset };
        if (TryCall(c => VmHostClient.RestartVm(request, cancellationToken: c), vm, out var result) && Passthru) WriteObject(result.ToObject(HostName));
    }
}
