using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Integration;

[Cmdlet(VerbsCommon.Get, "VMIntegrationService", DefaultParameterSetName = VMNameSet)]
[OutputType(typeof(VMIntegrationComponent))]
[CmdletHelp("Gets the integration services of a virtual machine.",
    "Gets each virtual machine's integration services (Heartbeat, Shutdown, Time Synchronization, Key-Value Pair Exchange, VSS, Guest Service Interface): whether each is enabled, and while the virtual machine runs, what its guest agent (hs-agent) answers: OK, No Contact or Lost Communication.")]
[CmdletExample("Get-VMIntegrationService -VMName web01", "Lists web01's integration services and their status.")]
[CmdletExample("Get-VMIntegrationService -VMName web01 -Name Heartbeat", "Shows whether web01's guest agent answers.")]
public sealed class GetVmIntegrationServiceCommand : VmNameCmdlet
{
    [Parameter(Position = 1, HelpMessage = "Only the services with this name; wildcards are allowed.")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Name { get; set; }

    protected override void ProcessVm(VirtualMachine vm)
    {
        var request = new ListIntegrationServicesRequest { Vm = new VmRef { Id = vm.Id.ToString("D") }, Name = Name ?? "" };
        if (!TryCall(c => VmHostClient.GuestIntegration.ListIntegrationServices(request, cancellationToken: c), vm, out var list)) return;
        if (list.Services.Count == 0 && Name is not null && !WildcardPattern.ContainsWildcardCharacters(Name))
            WriteNotFound($"the virtual machine '{vm.Name}' has no integration service named '{Name}'", Name);
        foreach (var service in list.Services) WriteObject(service.ToObject(HostName));
    }
}

/// <summary>Enable- and Disable-VMIntegrationService: one service of each VM (by -VMName and -Name, or the objects Get-VMIntegrationService wrote) turned on or off.</summary>
public abstract class SetVmIntegrationServiceCmdlet : VmNameCmdlet
{
    private const string ObjectSet = "Object";

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = VMNameSet, HelpMessage = "The service's name: Heartbeat, Shutdown, Time Synchronization, Key-Value Pair Exchange, VSS or Guest Service Interface.")]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = VMObjectSet)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ObjectSet, ValueFromPipeline = true, HelpMessage = "The service, as Get-VMIntegrationService returns it.")]
    public VMIntegrationComponent[] VMIntegrationService { get; set; } = [];

    [Parameter(HelpMessage = "Writes the service as it is afterwards to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected abstract bool Enabled { get; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName != ObjectSet) { base.ProcessRecord(); return; }
        foreach (var s in VMIntegrationService) Apply(new VmRef { Id = s.VMId.ToString("D") }, s.VMName, s.Name, s);
    }

    protected override void ProcessVm(VirtualMachine vm)
    {
        foreach (var name in Name) Apply(new VmRef { Id = vm.Id.ToString("D") }, vm.Name, name, vm);
    }

    private void Apply(VmRef vm, string vmName, string service, object target)
    {
        if (!ShouldProcess($"{vmName}: {service}", Enabled ? "Enable-VMIntegrationService" : "Disable-VMIntegrationService")) return;
        var request = new SetIntegrationServiceRequest { Vm = vm, Name = service, Enabled = Enabled };
        if (TryCall(c => VmHostClient.GuestIntegration.SetIntegrationService(request, cancellationToken: c), target, out var result) && Passthru) WriteObject(result.ToObject(HostName));
    }
}

[Cmdlet(VerbsLifecycle.Enable, "VMIntegrationService", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMIntegrationComponent))]
[CmdletHelp("Enables an integration service of a virtual machine.",
    "Turns an integration service on; the setting is kept in the virtual machine's configuration and applies to a running virtual machine at once (Time Synchronization coming on sets the guest clock).")]
[CmdletExample("Enable-VMIntegrationService -VMName web01 -Name 'Guest Service Interface'", "Lets Copy-VMFile copy files into web01.")]
public sealed class EnableVmIntegrationServiceCommand : SetVmIntegrationServiceCmdlet
{
    protected override bool Enabled => true;
}

[Cmdlet(VerbsLifecycle.Disable, "VMIntegrationService", DefaultParameterSetName = VMNameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMIntegrationComponent))]
[CmdletHelp("Disables an integration service of a virtual machine.",
    "Turns an integration service off; the setting is kept in the virtual machine's configuration. With Shutdown off, Stop-VM presses the ACPI power button instead of asking the guest agent; with Heartbeat off, Get-VM shows Heartbeat Disabled.")]
[CmdletExample("Disable-VMIntegrationService -VMName web01 -Name 'Time Synchronization'", "Leaves web01's clock alone from now on.")]
[CmdletExample("Get-VMIntegrationService web01 -Name Shutdown | Disable-VMIntegrationService", "The same, from the pipeline.")]
public sealed class DisableVmIntegrationServiceCommand : SetVmIntegrationServiceCmdlet
{
    protected override bool Enabled => false;
}
