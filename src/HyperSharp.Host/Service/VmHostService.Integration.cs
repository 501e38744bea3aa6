using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service;

/// <summary>The integration-service calls of the VmHost service: Get-/Enable-/Disable-VMIntegrationService and Copy-VMFile.</summary>
public sealed partial class VmHostService
{
    public override Task<ListIntegrationServicesResponse> ListIntegrationServices(ListIntegrationServicesRequest request, ServerCallContext context)
    {
        var response = new ListIntegrationServicesResponse();
        response.Services.AddRange(IntegrationProjection.Services(manager.Find(request.Vm), request.Name));
        return Task.FromResult(response);
    }

    public override Task<IntegrationService> SetIntegrationService(SetIntegrationServiceRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        manager.Integration.Set(vm, request.Name, request.Enabled);
        return Task.FromResult(IntegrationProjection.Services(vm, VmIntegration.ServiceName("name", request.Name)).Single());
    }

    public override async Task<CopyVmFileResponse> CopyVmFile(CopyVmFileRequest request, ServerCallContext context)
    {
        long bytes = await manager.Integration.CopyFileAsync(manager.Find(request.Vm), request.SourcePath, request.DestinationPath, request.CreateFullPath,
            request.Force, ClientIdentities.Of(context), context.CancellationToken).ConfigureAwait(false);
        return new CopyVmFileResponse { Bytes = bytes };
    }
}
