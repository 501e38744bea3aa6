using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Host.Checkpoints;
using HyperSharp.Inventory;
using static HyperSharp.Host.Service.ServiceCalls;

namespace HyperSharp.Host.Service;

/// <summary>The checkpoint calls of the host API (its Checkpoints service): requests to domain calls, checkpoint records to the API's VmCheckpoint.</summary>
public sealed class CheckpointsService(VmManager manager) : Api.V1.Checkpoints.CheckpointsBase
{
    public override async Task<VmCheckpoint> CreateCheckpoint(CreateCheckpointRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        var outcome = await manager.Checkpoints.CreateAsync(vm, request.Name, Detached).ConfigureAwait(false);
        var checkpoint = ToCheckpoint(vm, outcome.Checkpoint!);
        checkpoint.Warnings.AddRange(outcome.Warnings);
        checkpoint.PauseMs = outcome.PauseMs;
        checkpoint.FrozenMounts.AddRange(outcome.FrozenMounts ?? []);
        checkpoint.FrozenMs = outcome.FrozenMs;
        return checkpoint;
    }

    public override Task<ListCheckpointsResponse> ListCheckpoints(ListCheckpointsRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        var response = new ListCheckpointsResponse();
        response.Checkpoints.AddRange(VmCheckpoints.List(vm, request.Name).Select(c => ToCheckpoint(vm, c)));
        return Task.FromResult(response);
    }

    public override async Task<Vm> RestoreCheckpoint(CheckpointRef request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        var checkpoint = VmCheckpoints.Resolve(vm, request.Id, request.Name);
        var outcome = await manager.Checkpoints.RestoreAsync(vm, checkpoint.Id, Detached).ConfigureAwait(false);
        var result = await Project(manager, vm, context).ConfigureAwait(false);
        result.Warnings.AddRange(outcome.Warnings);
        return result;
    }

    public override async Task<RemoveCheckpointResponse> RemoveCheckpoint(RemoveCheckpointRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Checkpoint?.Vm);
        var checkpoint = VmCheckpoints.Resolve(vm, request.Checkpoint?.Id, request.Checkpoint?.Name);
        var outcome = await manager.Checkpoints.RemoveAsync(vm, checkpoint.Id, request.IncludeChildren, Detached).ConfigureAwait(false);
        var response = new RemoveCheckpointResponse();
        response.Warnings.AddRange(outcome.Warnings);
        return response;
    }

    public override Task<VmCheckpoint> RenameCheckpoint(RenameCheckpointRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Checkpoint?.Vm);
        var checkpoint = VmCheckpoints.Resolve(vm, request.Checkpoint?.Id, request.Checkpoint?.Name);
        return Task.FromResult(ToCheckpoint(vm, manager.Checkpoints.Rename(vm, checkpoint.Id, request.NewName)));
    }

    private static VmCheckpoint ToCheckpoint(ManagedVm vm, CheckpointRecord c)
    {
        var config = vm.Config;
        var parent = c.ParentId is { } id ? config.Checkpoints.FirstOrDefault(p => p.Id == id) : null;
        var result = new VmCheckpoint
        {
            Id = c.Id.ToString("D"), Name = c.Name, VmId = config.Id.ToString("D"), VmName = config.Name,
            Kind = c.Production ? CheckpointKind.Production : CheckpointKind.Standard, ParentId = parent?.Id.ToString("D") ?? "", ParentName = parent?.Name ?? "",
            CreationTimeUnixMs = c.CreationTimeUnixMs, Path = vm.Folder.Location, HasSavedState = c.SavedStateFile is not null,
            IsCurrent = config.CurrentCheckpointId == c.Id,
        };
        result.DiskPaths.AddRange(c.Disks.Select(d => d.Path));
        return result;
    }
}
