using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

/// <summary>
/// A cmdlet that acts on network adapters: those of VMs named by -VMName or passed by -VM (narrowed by the cmdlet's
/// adapter name parameter), or VMNetworkAdapter objects passed through -VMNetworkAdapter or the pipeline, as
/// Hyper-V's Set-, Rename-, Remove-, Connect- and Disconnect-VMNetworkAdapter do. Adapters are addressed by Id:
/// several adapters of one VM may share a name.
/// </summary>
public abstract class NetworkAdapterCmdlet : VmAdapterCmdlet
{
    protected const string AdapterObjectSet = "ResourceObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = AdapterObjectSet, ValueFromPipeline = true, HelpMessage = "The network adapter, as Get-VMNetworkAdapter returns it (from the pipeline too).")]
    [ValidateNotNull]
    public VMNetworkAdapter[] VMNetworkAdapter { get; set; } = [];

    /// <summary>The adapter names (wildcards allowed) the cmdlet's name parameter gives; null for every adapter.</summary>
    protected abstract string[]? AdapterNames { get; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName != AdapterObjectSet)
        {
            base.ProcessRecord();
            return;
        }
        foreach (var adapter in VMNetworkAdapter) ProcessAdapter(adapter);
    }

    protected sealed override void ProcessVm(VirtualMachine vm)
    {
        foreach (var adapter in Adapters(vm, AdapterNames)) ProcessAdapter(adapter);
    }

    /// <summary>Does the cmdlet's work on one adapter.</summary>
    protected abstract void ProcessAdapter(VMNetworkAdapter adapter);

    protected static NetworkAdapterRef Ref(VMNetworkAdapter adapter) => new() { Vm = new VmRef { Id = adapter.VMId.ToString("D") }, Id = adapter.Id };

    /// <summary>How -WhatIf and -Confirm name an adapter.</summary>
    protected static string Describe(VMNetworkAdapter adapter) => $"network adapter '{adapter.Name}' of '{adapter.VMName}'";

    /// <summary>
    /// One change to an adapter after -WhatIf/-Confirm allow it; with -Passthru writes what <paramref name="output"/>
    /// makes of the adapter as the host left it (the adapter itself by default).
    /// </summary>
    protected void Update(VMNetworkAdapter adapter, string action, UpdateNetworkAdapterRequest request, bool passthru, Func<NetworkAdapter, object>? output = null)
    {
        if (!ShouldProcess(Describe(adapter), action)) return;
        request.Adapter = Ref(adapter);
        if (TryCall(c => VmHostClient.Networking.UpdateNetworkAdapter(request, cancellationToken: c), adapter, out var result) && passthru)
            WriteObject(output is null ? result.ToObject(HostName) : output(result));
    }
}
