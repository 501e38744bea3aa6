using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.Get, "VMHost")]
[OutputType(typeof(VMHost))]
[CmdletHelp("Gets the virtualization host.",
    "Gets the HyperSharp host: its processors and memory, where it keeps virtual machines and disks, the CPU backend it uses (KVM or the software processor) and why, and its limits per virtual machine.")]
[CmdletExample("Get-VMHost | Select-Object LogicalProcessorCount, MemoryCapacity, DefaultBackend, BackendReason", "Shows the host's capacity and the backend it picked.")]
public sealed class GetVmHostCommand : HyperSharpCmdlet
{
    protected override void ProcessRecord()
    {
        if (TryCall(c => VmHostClient.GetHost(new GetHostRequest(), cancellationToken: c), HostName, out var info)) WriteObject(info.ToObject());
    }
}
