using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.Get, "VMMemory", DefaultParameterSetName = NameSet)]
[OutputType(typeof(VMMemory))]
[CmdletHelp("Gets the memory settings of a virtual machine.",
    "Gets each virtual machine's memory settings: Startup, and the dynamic memory settings (DynamicMemoryEnabled, Minimum, Maximum, Buffer, Priority).")]
[CmdletExample("Get-VMMemory -VMName web01", "Shows web01's memory settings.")]
public sealed class GetVmMemoryCommand : VmTargetCmdlet
{
    protected override void ProcessVm(VirtualMachine vm)
    {
        if (TryCall(c => VmHostClient.GetMemory(Ref(vm), cancellationToken: c), vm, out var m)) WriteObject(m.ToObject(HostName));
    }
}

[Cmdlet(VerbsCommon.Set, "VMMemory", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMMemory))]
[CmdletHelp("Configures the memory of a virtual machine.",
    "Changes the settings given. Sizes are bytes; PowerShell's 512MB and 2GB work. On a running virtual machine with static memory and runtime resize (-RuntimeResizeEnabled, set while it is Off), -StartupBytes resizes it at once: hot-added memory to grow, the balloon or unplugging to shrink, within what the guest gives back in -WaitSeconds; the warning says what it did not, and the startup memory records what took effect. DynamicMemoryEnabled, MinimumBytes, MaximumBytes and RuntimeResizeEnabled need the virtual machine Off.")]
[CmdletExample("Set-VMMemory -VMName web01 -StartupBytes 2GB", "Gives web01 2 GB of memory at its next start.")]
[CmdletExample("Get-VMMemory web01 | Set-VMMemory -StartupBytes 1GB -Passthru", "Changes the startup memory through the pipeline and shows the result.")]
[CmdletExample("Set-VMMemory web01 -RuntimeResizeEnabled $true; Start-VM web01; Set-VMMemory web01 -StartupBytes 3GB", "Lets web01's memory change while it runs, starts it, and grows it to 3 GB.")]
public sealed class SetVmMemoryCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "VMMemory", ValueFromPipeline = true, HelpMessage = "The memory settings object, as Get-VMMemory returns it.")]
    public VMMemory[] VMMemory { get; set; } = [];

    [Parameter(HelpMessage = "The memory the virtual machine starts with, in bytes.")]
    public long? StartupBytes { get; set; }

    [Parameter(HelpMessage = "Whether dynamic memory is enabled (virtual machine Off). The virtual machine then starts with a balloon and hot-add memory up to its maximum, and while it runs the host's balancer sets its memory from its demand, buffer and priority.")]
    public bool? DynamicMemoryEnabled { get; set; }

    [Parameter(HelpMessage = "The least memory dynamic memory leaves the virtual machine, in bytes.")]
    public long? MinimumBytes { get; set; }

    [Parameter(HelpMessage = "The most memory dynamic memory gives the virtual machine, in bytes.")]
    public long? MaximumBytes { get; set; }

    [Parameter(HelpMessage = "The memory dynamic memory keeps spare, in percent of what the guest uses (5-2000).")]
    public int? Buffer { get; set; }

    [Parameter(HelpMessage = "The virtual machine's priority for memory against others (0-100).")]
    public int? Priority { get; set; }

    [Parameter(HelpMessage = "Whether static memory can be resized while the virtual machine runs (virtual machine Off): it then starts with a balloon and room to grow to four times its startup memory (at least 1 GB more, at most 64 GB more).")]
    public bool? RuntimeResizeEnabled { get; set; }

    [Parameter(HelpMessage = "Resizing a running virtual machine: seconds to wait for the guest (1-600, default 30). What it has not done by then is withdrawn and reported.")]
    public int? WaitSeconds { get; set; }

    [Parameter(HelpMessage = "Writes the new memory settings to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName != "VMMemory") { base.ProcessRecord(); return; }
        foreach (var m in VMMemory) Apply(new VmRef { Id = m.VMId.ToString("D") }, m.VMName, m);
    }

    protected override void ProcessVm(VirtualMachine vm) => Apply(Ref(vm), vm.Name, vm);

    private void Apply(VmRef vm, string name, object target)
    {
        if (!ShouldProcess(name, "Set-VMMemory")) return;
        var request = new SetMemoryRequest { Vm = vm };
        if (StartupBytes is { } startup) request.StartupBytes = startup;
        if (DynamicMemoryEnabled is { } dynamic) request.DynamicMemoryEnabled = dynamic;
        if (MinimumBytes is { } minimum) request.MinimumBytes = minimum;
        if (MaximumBytes is { } maximum) request.MaximumBytes = maximum;
        if (Buffer is { } buffer) request.Buffer = buffer;
        if (Priority is { } priority) request.Priority = priority;
        if (RuntimeResizeEnabled is { } resize) request.RuntimeResizeEnabled = resize;
        if (WaitSeconds is { } wait) request.WaitSeconds = wait;
        if (!TryCall(c => VmHostClient.SetMemory(request, cancellationToken: c), target, out var result)) return;
        WriteWarnings(name, result.Warnings); // what the host records without acting on it, and what of a resize the guest did not do
        if (Passthru) WriteObject(result.ToObject(HostName));
    }
}
