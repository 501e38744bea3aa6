using Grpc.Core;
using HyperSharp.Api.V1;
using static HyperSharp.Host.Service.ServiceCalls;

namespace HyperSharp.Host.Service;

/// <summary>The switch and network adapter calls of the host API (its Networking service).</summary>
public sealed class NetworkingService(VmManager manager) : Api.V1.Networking.NetworkingBase
{
    public override Task<ListSwitchesResponse> ListSwitches(ListSwitchesRequest request, ServerCallContext context)
    {
        var response = new ListSwitchesResponse();
        response.Switches.AddRange(manager.Networking.ListSwitches(request.Name, request.SwitchType));
        return Task.FromResult(response);
    }

    public override Task<VmSwitch> GetSwitch(SwitchRef request, ServerCallContext context) => Task.FromResult(manager.Networking.GetSwitch(manager.Switches.Find(request)));

    public override Task<VmSwitch> CreateSwitch(CreateSwitchRequest request, ServerCallContext context) => Task.FromResult(manager.Networking.CreateSwitch(request.ToSwitch()));

    public override Task<VmSwitch> UpdateSwitch(UpdateSwitchRequest request, ServerCallContext context) => Task.FromResult(manager.Networking.UpdateSwitch(manager.Switches.Find(request.Switch), request.ToChange()));

    public override async Task<RemoveSwitchResponse> RemoveSwitch(RemoveSwitchRequest request, ServerCallContext context)
    {
        await manager.Networking.RemoveSwitchAsync(manager.Switches.Find(request.Switch), Detached).ConfigureAwait(false);
        return new RemoveSwitchResponse();
    }

    public override Task<ListNetworkAdaptersResponse> ListNetworkAdapters(ListNetworkAdaptersRequest request, ServerCallContext context)
    {
        var response = new ListNetworkAdaptersResponse();
        response.Adapters.AddRange(manager.Networking.ListAdapters(request.Vm.Named() is { } named ? manager.Find(named) : null, request.Name));
        return Task.FromResult(response);
    }

    public override Task<NetworkAdapter> AddNetworkAdapter(AddNetworkAdapterRequest request, ServerCallContext context) =>
        manager.Networking.AddAdapterAsync(manager.Find(request.Vm), request.ToAdapter(), Detached);

    public override Task<NetworkAdapter> UpdateNetworkAdapter(UpdateNetworkAdapterRequest request, ServerCallContext context) =>
        manager.Networking.UpdateAdapterAsync(manager.Find(request.Adapter?.Vm), request.Adapter!.ToRef(), request.ToChange(), Detached);

    public override async Task<RemoveNetworkAdapterResponse> RemoveNetworkAdapter(NetworkAdapterRef request, ServerCallContext context)
    {
        await manager.Networking.RemoveAdapterAsync(manager.Find(request.Vm), request.ToRef(), Detached).ConfigureAwait(false);
        return new RemoveNetworkAdapterResponse();
    }
}
