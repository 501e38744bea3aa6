using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.Get, "VM", DefaultParameterSetName = "Name")]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Gets the virtual machines on the host.",
    "Gets every virtual machine on the HyperSharp host, or those whose names match -Name (wildcards allowed), or the one with the given -Id. A name without wildcards that matches no virtual machine is an ObjectNotFound error; the other names are still looked up.")]
[CmdletExample("Get-VM", "Lists every virtual machine with its state, CPU usage, assigned memory, uptime and status.")]
[CmdletExample("Get-VM -Name web* | Where-Object State -eq 'Off' | Start-VM", "Starts the virtual machines whose names begin with web and that are off.")]
public sealed class GetVmCommand : HyperSharpCmdlet
{
    [Parameter(Position = 0, ParameterSetName = "Name", ValueFromPipeline = true, HelpMessage = "The names of the virtual machines; wildcards are allowed. All virtual machines when omitted.")]
    [Alias("VMName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Id", ValueFromPipelineByPropertyName = true, HelpMessage = "The unique identifier (VMId) of the virtual machine.")]
    [Alias("VMId")]
    public Guid Id { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "Id")
        {
            if (TryCall(c => VmHostClient.GetVm(new VmRef { Id = Id.ToString("D") }, cancellationToken: c), Id, out var vm))
                WriteObject(vm.ToObject(HostName));
            return;
        }
        foreach (var name in Name ?? ["*"])
            foreach (var vm in Resolve(name)) WriteObject(vm);
    }
}
