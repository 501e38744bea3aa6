using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service;

/// <summary>The switch and network adapter calls of the VmHost service.</summary>
public sealed partial class VmHostService
{
    public override Task<ListSwitchesResponse> ListSwitches(ListSwitchesRequest request, ServerCallContext context)
    {
        var response = new ListSwitchesResponse();
        response.Switches.AddRange(manager.Networking.ListSwitches(request));
        return Task.FromResult(response);
    }

    public override Task<VmSwitch> GetSwitch(SwitchRef request, ServerCallContext context) => Task.FromResult(manager.Networking.GetSwitch(request));

    public override Task<VmSwitch> CreateSwitch(CreateSwitchRequest request, ServerCallContext context) => Task.FromResult(manager.Networking.CreateSwitch(request));

    public override Task<VmSwitch> UpdateSwitch(UpdateSwitchRequest request, ServerCallContext context) => Task.FromResult(manager.Networking.UpdateSwitch(request));

    public override async Task<RemoveSwitchResponse> RemoveSwitch(RemoveSwitchRequest request, ServerCallContext context)
    {
        await manager.Networking.RemoveSwitchAsync(request, Detached).ConfigureAwait(false);
        return new RemoveSwitchResponse();
    }

    public override Task<ListNetworkAdaptersResponse> ListNetworkAdapters(ListNetworkAdaptersRequest request, ServerCallContext context)
    {
        var response = new ListNetworkAdaptersResponse();
        response.Adapters.AddRange(manager.Networking.ListAdapters(request));
        return Task.FromResult(response);
    }

    public override Task<NetworkAdapter> AddNetworkAdapter(AddNetworkAdapterRequest request, ServerCallContext context) =>
        manager.Networking.AddAdapterAsync(request, Detached);

    public override Task<NetworkAdapter> UpdateNetworkAdapter(UpdateNetworkAdapterRequest request, ServerCallContext context) =>
        manager.Networking.UpdateAdapterAsync(request, Detached);

    public override async Task<RemoveNetworkAdapterResponse> RemoveNetworkAdapter(NetworkAdapterRef request, ServerCallContext context)
    {
        await manager.Networking.RemoveAdapterAsync(request, Detached).ConfigureAwait(false);
        return new RemoveNetworkAdapterResponse();
    }
}
