using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Host.Checkpoints;
using HyperSharp.Host.Exports;
using static HyperSharp.Host.Service.ServiceCalls;

namespace HyperSharp.Host.Service;

/// <summary>The export and import calls of the host API (its Exports service): requests to <see cref="VmExporter"/> and <see cref="VmImporter"/> calls, their results to the API's messages.</summary>
public sealed class ExportsService(VmManager manager) : Api.V1.Exports.ExportsBase
{
    public override Task<ExportVmResponse> ExportVm(ExportVmRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Vm);
        var capture = request.CaptureLiveState switch
        {
            CaptureLiveState.CrashConsistent => LiveStateCapture.CrashConsistent,
            CaptureLiveState.DataConsistent => LiveStateCapture.DataConsistent,
            CaptureLiveState.SavedState => LiveStateCapture.SavedState,
            _ => throw HostErrors.Invalid("capture_live_state", $"{(int)request.CaptureLiveState} is not a capture of this API"),
        };
        return Task.FromResult(ToResponse(manager.Exporter.Export(vm, request.Path, capture, ClientIdentities.Of(context))));
    }

    public override Task<ExportVmResponse> ExportCheckpoint(ExportCheckpointRequest request, ServerCallContext context)
    {
        var vm = manager.Find(request.Checkpoint?.Vm);
        var checkpoint = VmCheckpoints.Resolve(vm, request.Checkpoint?.Id, request.Checkpoint?.Name);
        return Task.FromResult(ToResponse(manager.Exporter.ExportCheckpoint(vm, checkpoint.Id, request.Path, ClientIdentities.Of(context))));
    }

    public override Task<Vm> ImportVm(ImportVmRequest request, ServerCallContext context) =>
        Project(manager, manager.Importer.Import(request.Path, ToOptions(request), ClientIdentities.Of(context)), context);

    public override Task<VmCompatibilityReport> CompareImport(ImportVmRequest request, ServerCallContext context)
    {
        var report = manager.Importer.Compare(request.Path, ToOptions(request), ClientIdentities.Of(context));
        var result = new VmCompatibilityReport
        {
            Path = report.Export.File, VmId = report.Id == Guid.Empty ? "" : report.Id.ToString("D"), VmName = report.Name,
            HasSavedState = report.Export.SavedStateFile is not null, Checkpoints = report.Export.Config?.Checkpoints.Count ?? 0,
        };
        result.Incompatibilities.AddRange(report.Issues.Select(i => new VmIncompatibility { Kind = i.Kind.ToString(), Source = i.Source, Message = i.Message }));
        return Task.FromResult(result);
    }

    private static ImportOptions ToOptions(ImportVmRequest request) => new(request.Copy, request.GenerateNewId,
        NullIfEmpty(request.VhdDestinationPath), NullIfEmpty(request.VirtualMachinePath), NullIfEmpty(request.SnapshotFilePath), NullIfEmpty(request.NewName));

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static ExportVmResponse ToResponse(ExportOutcome outcome) => new()
    {
        Folder = outcome.Folder, ConfigurationFile = outcome.ConfigurationFile, Files = outcome.Files, Bytes = outcome.Bytes,
        HasSavedState = outcome.SavedState, Seconds = outcome.Elapsed.TotalSeconds,
    };
}
