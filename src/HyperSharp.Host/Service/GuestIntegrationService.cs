using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Inventory.Workers;
using static HyperSharp.Host.Service.ServiceCalls;

namespace HyperSharp.Host.Service;

/// <summary>The integration-service calls of the host API (its GuestIntegration service): Get-/Enable-/Disable-VMIntegrationService, Copy-VMFile and `hyper vm exec`.</summary>
public sealed class GuestIntegrationService(VmManager manager) : Api.V1.GuestIntegration.GuestIntegrationBase
{
    public override Task<ListIntegrationServicesResponse> ListIntegrationServices(ListIntegrationServicesRequest request, ServerCallContext context)
    {
        var response = new ListIntegrationServicesResponse();
        response.Services.AddRange(IntegrationProjection.Services(manager.Find(request.Vm), request.Name));
        return Task.FromResult(response);
    }

    public override async Task<IntegrationService> SetIntegrationService(SetIntegrationServiceRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        await manager.Integration.SetAsync(vm, request.Name, request.Enabled, Detached).ConfigureAwait(false);
        return IntegrationProjection.Services(vm, VmIntegration.ServiceName("name", request.Name)).Single();
    }

    public override async Task<CopyVmFileResponse> CopyVmFile(CopyVmFileRequest request, ServerCallContext context)
    {
        long bytes = await manager.Integration.CopyFileAsync(manager.Find(request.Vm), request.SourcePath, request.DestinationPath, request.CreateFullPath,
            request.Force, ClientIdentities.Of(context), context.CancellationToken).ConfigureAwait(false);
        return new CopyVmFileResponse { Bytes = bytes };
    }

    /// <summary>`hyper vm exec`: the call's messages bridged to the worker's <see cref="ExecFrames"/> both ways until the command ends.</summary>
    public override async Task ExecVm(IAsyncStreamReader<ExecInput> requestStream, IServerStreamWriter<ExecOutput> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false)) return;
        var first = requestStream.Current;
        using var worker = await manager.Integration.OpenExecAsync(manager.Find(first.Vm), first.Arguments, context.CancellationToken).ConfigureAwait(false);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var input = Task.Run(async () =>
        {
            try
            {
                for (var message = first; ; message = requestStream.Current)
                {
                    if (!message.Stdin.IsEmpty) await ExecFrames.WriteAsync(worker, ExecFrames.Stdin, message.Stdin.Memory, done.Token).ConfigureAwait(false);
                    if (message.StdinClose) await ExecFrames.WriteAsync(worker, ExecFrames.StdinClose, default, done.Token).ConfigureAwait(false);
                    if (message.Signal != 0) await ExecFrames.WriteAsync(worker, ExecFrames.Signal, BitConverter.GetBytes(message.Signal), done.Token).ConfigureAwait(false);
                    if (!await requestStream.MoveNext(done.Token).ConfigureAwait(false)) break;
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or RpcException) { }
        });
        try
        {
            while (await ExecFrames.ReadAsync(worker, done.Token).ConfigureAwait(false) is { } frame)
            {
                switch (frame.Kind)
                {
                    case ExecFrames.Stdout: await responseStream.WriteAsync(new ExecOutput { Stdout = ByteString.CopyFrom(frame.Data) }).ConfigureAwait(false); break;
                    case ExecFrames.Stderr: await responseStream.WriteAsync(new ExecOutput { Stderr = ByteString.CopyFrom(frame.Data) }).ConfigureAwait(false); break;
                    case ExecFrames.Exit:
                        var (code, signal) = ExecFrames.ReadExit(frame.Data);
                        await responseStream.WriteAsync(new ExecOutput { Exited = true, ExitCode = code, Signal = signal }).ConfigureAwait(false);
                        return;
                    case ExecFrames.Error: throw HostErrors.Precondition($"the command in the guest failed: {System.Text.Encoding.UTF8.GetString(frame.Data)}");
                }
            }
            throw HostErrors.Internal("the worker ended the command's stream without saying how it ended (the VM stopped?)");
        }
        catch (Exception e) when (e is SocketException or InvalidDataException)
        {
            throw HostErrors.Internal($"the command's stream from the worker broke: {e.Message}");
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
            await input.ConfigureAwait(false);
        }
    }
}
