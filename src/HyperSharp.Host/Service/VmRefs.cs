using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service;

/// <summary>The API's VM reference, for the service classes: the VM it names (<see cref="VmManager.Find"/>).</summary>
public static class VmRefs
{
    public static ManagedVm Find(this VmManager manager, VmRef? reference) => manager.Find(reference?.Id, reference?.Name);
}
