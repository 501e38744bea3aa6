using Grpc.Core;
using HyperSharp.Api.V1;
using static HyperSharp.Host.Service.ServiceCalls;

namespace HyperSharp.Host.Service;

/// <summary>The SCSI controller calls of the host API (its ScsiControllers service): Add-/Get-/Remove-VMScsiController.</summary>
public sealed class ScsiControllersService(VmManager manager) : Api.V1.ScsiControllers.ScsiControllersBase
{
    public override Task<ListScsiControllersResponse> ListScsiControllers(VmRef request, ServerCallContext context)
    {
        var vm = manager.Find(request);
        var response = new ListScsiControllersResponse();
        response.Controllers.AddRange(VmScsiControllers.List(vm).Select(c => ScsiController(vm, c.Number)));
        return Task.FromResult(response);
    }

    public override Task<ScsiController> AddScsiController(VmRef request, ServerCallContext context)
    {
        var vm = manager.Find(request);
        return Task.FromResult(ScsiController(vm, new VmScsiControllers(manager.Configuration, manager.Lifecycle).Add(vm)));
    }

    public override Task<RemoveScsiControllerResponse> RemoveScsiController(RemoveScsiControllerRequest request, ServerCallContext context)
    {
        new VmScsiControllers(manager.Configuration, manager.Lifecycle).Remove(manager.Find(request.Vm), request.ControllerNumber);
        return Task.FromResult(new RemoveScsiControllerResponse());
    }

    private static ScsiController ScsiController(ManagedVm vm, int number)
    {
        var controller = new ScsiController { VmId = vm.Id.ToString("D"), VmName = vm.Name, ControllerNumber = number };
        controller.Drives.AddRange(VmScsiControllers.List(vm)[number].Drives.Select(d => VmProjection.Drive(vm, d)));
        return controller;
    }
}
