using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.Get, "VMProcessor", DefaultParameterSetName = NameSet)]
[OutputType(typeof(VMProcessor))]
[CmdletHelp("Gets the processor settings of a virtual machine.",
    "Gets each virtual machine's processor settings: Count, Maximum and Reserve (percent), RelativeWeight, and whether virtualization extensions are exposed to the guest.")]
[CmdletExample("Get-VMProcessor -VMName web01", "Shows web01's processor settings.")]
public sealed class GetVmProcessorCommand : VmTargetCmdlet
{
    protected override void ProcessVm(VirtualMachine vm)
    {
        if (TryCall(c => VmHostClient.GetProcessor(Ref(vm), cancellationToken: c), vm, out var p)) WriteObject(p.ToObject(HostName));
    }
}

[Cmdlet(VerbsCommon.Set, "VMProcessor", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMProcessor))]
[CmdletHelp("Configures the processors of a virtual machine.",
    "Changes the settings given: the number of virtual processors (the virtual machine must be Off), and the share of host time it may use (Maximum, Reserve, RelativeWeight), which apply at once through the worker's cgroup.")]
[CmdletExample("Set-VMProcessor -VMName web01 -Count 4 -Maximum 50", "Gives web01 four processors that together use at most half of four host processors.")]
[CmdletExample("Get-VMProcessor web01 | Set-VMProcessor -RelativeWeight 200 -Passthru", "Doubles web01's share of processor time against other virtual machines.")]
public sealed class SetVmProcessorCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "VMProcessor", ValueFromPipeline = true, HelpMessage = "The processor settings object, as Get-VMProcessor returns it.")]
    public VMProcessor[] VMProcessor { get; set; } = [];

    [Parameter(HelpMessage = "The number of virtual processors.")]
    public long? Count { get; set; }

    [Parameter(HelpMessage = "The most processor time the virtual machine may use, in percent (1-100).")]
    public long? Maximum { get; set; }

    [Parameter(HelpMessage = "The processor time reserved for the virtual machine, in percent (0-100). This release records it but reserves nothing yet, and the cmdlet warns.")]
    public long? Reserve { get; set; }

    [Parameter(HelpMessage = "The virtual machine's weight against others when processors are busy (1-10000, default 100).")]
    public int? RelativeWeight { get; set; }

    [Parameter(HelpMessage = "Whether the guest sees the processor's virtualization extensions (nested virtualization). This release records it but exposes no extensions yet, and the cmdlet warns.")]
    public bool? ExposeVirtualizationExtensions { get; set; }

    [Parameter(HelpMessage = "Whether the virtual machine's device accesses are held to a fair share of the host (20,000 a second per virtual processor), so a guest that hammers a device cannot take a host processor from its neighbours. Changes while the virtual machine is Off.")]
    public bool? EnableHostResourceProtection { get; set; }

    [Parameter(HelpMessage = "Writes the new processor settings to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName != "VMProcessor") { base.ProcessRecord(); return; }
        foreach (var p in VMProcessor) Apply(new VmRef { Id = p.VMId.ToString("D") }, p.VMName, p);
    }

    protected override void ProcessVm(VirtualMachine vm) => Apply(Ref(vm), vm.Name, vm);

    private void Apply(VmRef vm, string name, object target)
    {
        if (!ShouldProcess(name, "Set-VMProcessor")) return;
        var request = new SetProcessorRequest { Vm = vm };
        if (Count is { } count) request.Count = Int(count);
        if (Maximum is { } maximum) request.Maximum = Int(maximum);
        if (Reserve is { } reserve) request.Reserve = Int(reserve);
        if (RelativeWeight is { } weight) request.RelativeWeight = weight;
        if (ExposeVirtualizationExtensions is { } expose) request.ExposeVirtualizationExtensions = expose;
        if (EnableHostResourceProtection is { } protect) request.EnableHostResourceProtection = protect;
        if (!TryCall(c => VmHostClient.SetProcessor(request, cancellationToken: c), target, out var result)) return;
        WriteWarnings(name, result.Warnings);
        if (Passthru) WriteObject(result.ToObject(HostName));
    }

    /// <summary>Out-of-range values reach the host clamped, which refuses them and names the field.</summary>
    private static int Int(long value) => (int)Math.Clamp(value, int.MinValue, int.MaxValue);
}
