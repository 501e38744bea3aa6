using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Host.Vhd;

/// <summary>
/// The VhdService API (New-VHD, Get-VHD, Test-VHD, Resize-VHD, Convert-VHD, Merge-VHD, Optimize-VHD)
/// over the storage library, on the host's own file system. Paths must be absolute: the host does not
/// share its clients' working directories. Disk work runs on pool threads, never on the request thread. Every path
/// is checked for the client that names it (<see cref="PathAccess"/>), and what the host creates for a local user is theirs.
/// </summary>
public sealed class VhdServiceImpl(IDiskAttachments? attachments = null, PathAccess? access = null) : VhdService.VhdServiceBase
{
    private readonly PathAccess _access = access ?? new PathAccess([]);

    public override Task<VirtualHardDisk> NewVhd(NewVhdRequest request, ServerCallContext context) => VhdErrors.Guard(() =>
    {
        var client = ClientIdentities.Of(context);
        string path = VhdRequests.NewFile(request.Path, "path");
        var options = VhdRequests.Create(request, path);
        Require(client, (path, PathUse.CreateIn, "path"), (options.ParentPath, PathUse.Read, "parent_path"));
        return Task.Run(() =>
        {
            using (VirtualDisk.Create(path, options)) { }
            PathAccess.GiveTo(client, path);
            return Describe(path);
        }, context.CancellationToken);
    });

    public override Task<VirtualHardDisk> GetVhd(GetVhdRequest request, ServerCallContext context) => VhdErrors.Guard(() =>
    {
        string path = VhdRequests.ExistingFile(request.Path, "path");
        Require(ClientIdentities.Of(context), (path, PathUse.Read, "path"));
        return DescribeAsync(path, context.CancellationToken);
    });

    /// <summary>Get-VHD: a disk a running VM has open is described by its worker (the live size), any other from its file.</summary>
    private async Task<VirtualHardDisk> DescribeAsync(string path, CancellationToken cancellationToken) =>
        attachments is not null && await attachments.InUseAsync(path, null, cancellationToken).ConfigureAwait(false) is { } live
            ? VhdMapping.ToApi(live, attachments)
            : await Task.Run(() => Describe(path), cancellationToken).ConfigureAwait(false);

    public override Task<TestVhdResponse> TestVhd(TestVhdRequest request, ServerCallContext context) => VhdErrors.Guard(() =>
    {
        string path = VhdRequests.ExistingFile(request.Path, "path");
        Require(ClientIdentities.Of(context), (path, PathUse.Read, "path"));
        return Task.Run(() =>
        {
            var report = DiskCheck.Run(path, repair: false);
            var response = new TestVhdResponse { Ok = report.Ok };
            foreach (var p in report.Problems)
                response.Problems.Add($"{p.Severity}: {p.Structure} at 0x{p.FileOffset:X}: {p.Message}");
            return response;
        }, context.CancellationToken);
    });

    public override Task<VirtualHardDisk> ResizeVhd(ResizeVhdRequest request, ServerCallContext context) => VhdErrors.Guard(() =>
    {
        string path = VhdRequests.ExistingFile(request.Path, "path");
        Require(ClientIdentities.Of(context), (path, PathUse.ReadWrite, "path"));
        if (request.ToMinimumSize && request.SizeBytes != 0)
            throw HostErrors.Invalid("size_bytes", "give size_bytes or to_minimum_size, not both");
        if (!request.ToMinimumSize && request.SizeBytes <= 0)
            throw HostErrors.Invalid("size_bytes", $"size_bytes {request.SizeBytes} must be more than 0");
        return ResizeAsync(path, request, context.CancellationToken);
    });

    /// <summary>
    /// Resize-VHD: a disk a running VM has open is resized by its worker (grown at once, shrunk only down to where the
    /// guest's partitions end, the guest told either way); any other through its file.
    /// </summary>
    private async Task<VirtualHardDisk> ResizeAsync(string path, ResizeVhdRequest request, CancellationToken cancellationToken)
    {
        if (attachments is not null)
        {
            long? target = request.ToMinimumSize ? (await attachments.InUseAsync(path, null, cancellationToken).ConfigureAwait(false))?.MinimumSize : request.SizeBytes;
            if (target is { } size && await attachments.InUseAsync(path, size, cancellationToken).ConfigureAwait(false) is { } live)
                return VhdMapping.ToApi(live, attachments);
        }
        return await Task.Run(() =>
        {
            long size = request.ToMinimumSize ? DiskInfo.Read(path).MinimumSize : request.SizeBytes;
            using (var disk = VirtualDisk.Open(path))
            {
                if (size % disk.LogicalSectorSize != 0)
                    throw HostErrors.Invalid("size_bytes", $"size_bytes {size} must be a multiple of the disk's {disk.LogicalSectorSize}-byte logical sector size");
                // Resize-VHD never drops data: a shrink below the last stored byte is refused (FAILED_PRECONDITION).
                disk.Resize(size);
                disk.Flush();
            }
            return Describe(path);
        }, cancellationToken).ConfigureAwait(false);
    }

    public override Task ConvertVhd(ConvertVhdRequest request, IServerStreamWriter<VhdProgress> responseStream, ServerCallContext context) => VhdErrors.Guard(() =>
    {
        var client = ClientIdentities.Of(context);
        string source = VhdRequests.ExistingFile(request.Path, "path");
        string destination = VhdRequests.NewFile(request.DestinationPath, "destination_path");
        Require(client, (source, PathUse.Read, "path"), (destination, PathUse.CreateIn, "destination_path"),
            (request.DeleteSource ? source : null, PathUse.CreateIn, "path")); // deleting the source is a change to its folder
        var type = VhdMapping.FromApi(request.VhdType);
        if (type == DiskType.Differencing)
            throw HostErrors.Invalid("vhd_type", "Convert-VHD makes a fixed or dynamic disk; create a differencing disk with New-VHD -ParentPath");
        var options = new ConvertOptions
        {
            Type = type,
            BlockSize = VhdRequests.BlockSize(request.BlockSizeBytes, VirtualDisk.FormatFromExtension(destination), "block_size_bytes"),
        };
        return VhdProgressStream.RunAsync("Converting " + source, CapacityOf(source), (progress, cancel) =>
        {
            DiskConvert.Convert(source, destination, options, progress, cancel);
            PathAccess.GiveTo(client, destination);
            if (request.DeleteSource) File.Delete(source);
            return Describe(destination);
        }, responseStream, context.CancellationToken);
    });

    public override Task MergeVhd(MergeVhdRequest request, IServerStreamWriter<VhdProgress> responseStream, ServerCallContext context) => VhdErrors.Guard(() =>
    {
        string child = VhdRequests.ExistingFile(request.Path, "path");
        string? destination = request.DestinationPath.Length == 0 ? null : VhdRequests.AbsolutePath(request.DestinationPath, "destination_path");
        var client = ClientIdentities.Of(context);
        Require(client, (child, PathUse.Read, "path"));
        var chain = DiskChain.Paths(child);
        if (chain.Count < 2) throw HostErrors.Precondition($"{child} is not a differencing disk; there is nothing to merge it into");
        bool intoNewImage = destination is not null && !File.Exists(destination);
        if (destination is not null && !intoNewImage && !chain.Skip(1).Contains(destination))
            throw HostErrors.Invalid("destination_path", $"{destination} is not an ancestor of {child} (its chain is {string.Join(" -> ", chain)}); name an ancestor or a new file");
        // Into a new file: the chain is read. Into an ancestor: every layer down to it is written, and the merged ones deleted.
        var layers = intoNewImage ? chain : chain.Take(destination is null ? 2 : chain.ToList().IndexOf(destination) + 1).ToList();
        foreach (var layer in layers)
            Require(client, (layer, intoNewImage ? PathUse.Read : PathUse.ReadWrite, "path"), (intoNewImage || layer == layers[^1] ? null : layer, PathUse.CreateIn, "path"));
        if (intoNewImage) Require(client, (destination, PathUse.CreateIn, "destination_path"));
        return VhdProgressStream.RunAsync("Merging " + child, CapacityOf(child), (progress, cancel) =>
        {
            // A destination that does not exist yet becomes a standalone image of the whole chain (the chain stays).
            if (intoNewImage)
            {
                DiskMerge.MergeToNewImage(child, destination!, progress: progress, cancel: cancel);
                PathAccess.GiveTo(client, destination!);
            }
            else destination = DiskMerge.MergeIntoAncestor(child, destination, progress, cancel);
            return Describe(destination!);
        }, responseStream, context.CancellationToken);
    });

    public override Task OptimizeVhd(OptimizeVhdRequest request, IServerStreamWriter<VhdProgress> responseStream, ServerCallContext context) => VhdErrors.Guard(() =>
    {
        string path = VhdRequests.ExistingFile(request.Path, "path");
        Require(ClientIdentities.Of(context), (path, PathUse.ReadWrite, "path"));
        if (!Enum.IsDefined(request.Mode)) throw HostErrors.Invalid("mode", $"mode {(int)request.Mode} is not one of Full, Quick, Pretrimmed, Prezeroed, Retrim");
        if (attachments?.IsAttached(path) == true)
            throw HostErrors.Precondition($"{path} is attached to a VM; Optimize-VHD needs it detached (or the VM off)");
        // Every mode does the same full pass: finding zero blocks is cheap next to moving them, and
        // there is no guest file system to trust for "pretrimmed" information.
        return VhdProgressStream.RunAsync("Optimizing " + path, CapacityOf(path), (progress, cancel) =>
        {
            DiskCompact.Optimize(path, progress, cancel);
            return Describe(path);
        }, responseStream, context.CancellationToken);
    });

    /// <summary>
    /// PERMISSION_DENIED unless the client may use each path as it says; a null path is skipped. For CreateIn the path
    /// given is a file whose folder is checked.
    /// </summary>
    private void Require(ClientIdentity client, params (string? Path, PathUse Use, string Parameter)[] paths)
    {
        foreach (var (path, use, parameter) in paths)
        {
            if (path is null) continue;
            string target = use == PathUse.CreateIn ? Path.GetDirectoryName(path)! : path;
            if (_access.Denied(client, target, use) is { } why) throw HostErrors.PermissionDenied($"{parameter}: {why}");
        }
    }

    private VirtualHardDisk Describe(string path)
    {
        try
        {
            return VhdMapping.ToApi(DiskInfo.Read(path), attachments);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && attachments?.IsAttached(path) == true)
        {
            // A running VM's worker holds its disks locked (no second writer may open them); say so rather than "in use by another process".
            throw HostErrors.Precondition($"{path} is attached to a running VM, whose worker holds it open; Get-VHD can read it when the VM is off ({e.Message})");
        }
    }

    private static long CapacityOf(string path)
    {
        using var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        return disk.Capacity;
    }
}
