using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Host.Platform;
using HyperSharp.Host.Service.Domain;
using static HyperSharp.Host.Service.ServiceCalls;

namespace HyperSharp.Host.Service;

/// <summary>The VmHost gRPC service: each call validated and handed to the <see cref="VmManager"/>; the console bridged to the worker.</summary>
public sealed class VmHostService(VmManager manager, HostServerOptions options) : VmHost.VmHostBase
{
    public override Task<HostInfo> GetHost(GetHostRequest request, ServerCallContext context) => Task.FromResult(HostInfoOf(manager, options));

    public override async Task<ListVmsResponse> ListVms(ListVmsRequest request, ServerCallContext context)
    {
        var response = new ListVmsResponse();
        var vms = manager.List(request.Name);
        var projected = await Task.WhenAll(vms.Select(vm => VmProjection.ToVmAsync(vm, manager.Switches, context.CancellationToken))).ConfigureAwait(false);
        response.Vms.AddRange(projected);
        return response;
    }

    public override Task<Vm> GetVm(VmRef request, ServerCallContext context) => Project(manager, manager.Find(request), context);

    public override Task<Vm> CreateVm(CreateVmRequest request, ServerCallContext context) => Project(manager, manager.Configuration.Create(request.ToNewVm(), ClientIdentities.Of(context)), context);

    public override async Task<Vm> UpdateVm(UpdateVmRequest request, ServerCallContext context)
    {
        var target = manager.Find(request.Vm);
        var change = request.ToChange();
        var vm = await Project(manager, manager.Configuration.Update(target, change, ClientIdentities.Of(context)), context).ConfigureAwait(false);
        return vm;
    }

    public override async Task<RemoveVmResponse> RemoveVm(RemoveVmRequest request, ServerCallContext context)
    {
        await manager.Configuration.RemoveAsync(manager.Find(request.Vm), request.Force, Detached).ConfigureAwait(false);
        return new RemoveVmResponse();
    }

    public override Task<Vm> StartVm(VmRef request, ServerCallContext context) => Power(request, manager.Lifecycle.StartAsync, context);

    public override async Task<Vm> StopVm(StopVmRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        var wait = request.TimeoutSeconds == 0 ? VmLifecycle.DefaultShutdownTimeout
            : TimeSpan.FromSeconds(RequestValidation.Range("timeout_seconds", request.TimeoutSeconds, 1, 3600, "the shutdown wait in seconds"));
        await manager.Lifecycle.StopAsync(vm, new StopOptions(request.TurnOff, request.Force, wait), Detached).ConfigureAwait(false);
        return await Project(manager, vm, context).ConfigureAwait(false);
    }

    public override Task<Vm> SaveVm(VmRef request, ServerCallContext context) => Power(request, manager.Lifecycle.SaveAsync, context);

    public override Task<Vm> SuspendVm(VmRef request, ServerCallContext context) => Power(request, manager.Lifecycle.SuspendAsync, context);

    public override Task<Vm> ResumeVm(VmRef request, ServerCallContext context) => Power(request, manager.Lifecycle.ResumeAsync, context);

    public override Task<Vm> RestartVm(RestartVmRequest request, ServerCallContext context) => Power(request.Vm, manager.Lifecycle.RestartAsync, context);

    /// <summary>A power operation on the VM <paramref name="reference"/> names, answered with the VM as it is then.</summary>
    private async Task<Vm> Power(VmRef reference, Func<ManagedVm, CancellationToken, Task> operation, ServerCallContext context)
    {
        var vm = manager.Find(reference);
        await operation(vm, Detached).ConfigureAwait(false);
        return await Project(manager, vm, context).ConfigureAwait(false);
    }

    public override Task<VmProcessor> GetProcessor(VmRef request, ServerCallContext context) => Task.FromResult(VmProjection.Processor(manager.Find(request)));

    public override Task<VmProcessor> SetProcessor(SetProcessorRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        var change = request.ToChange();
        manager.Configuration.SetProcessor(vm, change);
        var processor = VmProjection.Processor(vm);
        processor.Warnings.AddRange(UnappliedSettings.Of(change));
        return Task.FromResult(processor);
    }

    public override Task<VmMemory> GetMemory(VmRef request, ServerCallContext context) => Task.FromResult(VmProjection.Memory(manager.Find(request)));

    public override async Task<VmMemory> SetMemory(SetMemoryRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        var resize = await manager.Memory.SetAsync(vm, request.ToChange()).ConfigureAwait(false);
        var result = VmProjection.Memory(vm);
        if (resize is null) return result;
        result.AssignedBytes = resize.AssignedBytes;
        result.UnreachedBytes = resize.UnreachedBytes;
        if (resize.Warning is { } warning) result.Warnings.Add(warning);
        return result;
    }

    public override Task<ListHardDiskDrivesResponse> ListHardDiskDrives(VmRef request, ServerCallContext context)
    {
        var vm = manager.Find(request);
        var response = new ListHardDiskDrivesResponse();
        response.Drives.AddRange(vm.Config.Disks.Select(d => VmProjection.Drive(vm, d)));
        return Task.FromResult(response);
    }

    public override async Task<HardDiskDrive> AddHardDiskDrive(AddHardDiskDriveRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        var disk = await manager.Configuration.AddDiskAsync(vm, request.ToDrive(), ClientIdentities.Of(context), Detached).ConfigureAwait(false);
        return VmProjection.Drive(vm, disk);
    }

    public override async Task<RemoveHardDiskDriveResponse> RemoveHardDiskDrive(RemoveHardDiskDriveRequest request, ServerCallContext context)
    {
        await manager.Configuration.RemoveDiskAsync(manager.Find(request.Vm), request.ToLocation(), Detached).ConfigureAwait(false);
        return new RemoveHardDiskDriveResponse();
    }

    public override async Task<HardDiskDrive> SetHardDiskDrive(SetHardDiskDriveRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        var disk = await manager.Configuration.SetDiskQosAsync(vm, request.ToLocation(), request.ToQos(), Detached).ConfigureAwait(false);
        return VmProjection.Drive(vm, disk);
    }

    public override async Task WatchEvents(WatchEventsRequest request, IServerStreamWriter<VmEvent> responseStream, ServerCallContext context)
    {
        Guid? only = request.Vm is { } r && (r.Id.Length > 0 || r.Name.Length > 0) ? manager.Find(r).Id : null;
        using var subscription = manager.Events.Subscribe();
        // Headers go out once the subscription exists: a client that awaits them misses no later event.
        await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
        try
        {
            await foreach (var e in subscription.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
                if (only is null || e.VmId == only) await responseStream.WriteAsync(VmProjection.Event(e)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
    }

    public override async Task AttachConsole(IAsyncStreamReader<ConsoleInput> requestStream, IServerStreamWriter<ConsoleOutput> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false)) return;
        var vm = manager.Find(requestStream.Current.Vm);
        if (vm.State is not (PowerState.Running or PowerState.Paused)) throw HostErrors.WrongState(vm.Name, vm.State, "attach to the console of");
        Socket socket;
        try { socket = await vm.Worker.OpenConsoleAsync(context.CancellationToken).ConfigureAwait(false); }
        catch (Workers.WorkerException e) { throw HostErrors.Precondition($"VM '{vm.Name}': {e.Message}"); }
        using (socket)
        {
            using var done = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            var first = requestStream.Current.Data;
            var input = Task.Run(async () =>
            {
                try
                {
                    if (!first.IsEmpty) await socket.SendAsync(first.Memory, SocketFlags.None, done.Token).ConfigureAwait(false);
                    while (await requestStream.MoveNext(done.Token).ConfigureAwait(false))
                        await socket.SendAsync(requestStream.Current.Data.Memory, SocketFlags.None, done.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or RpcException) { }
            });
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, done.Token).ConfigureAwait(false)) > 0)
                    await responseStream.WriteAsync(new ConsoleOutput { Data = ByteString.CopyFrom(buffer, 0, n) }).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException) { }
            await done.CancelAsync().ConfigureAwait(false);
            await input.ConfigureAwait(false);
        }
    }

}
