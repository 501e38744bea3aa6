using System.Collections.Concurrent;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Storage;

/// <summary>A disk file and the parents it reads through (a differencing chain), each by its identity (device, inode).</summary>
public sealed record DiskLineage(string Path, (ulong Device, ulong Inode) Self, IReadOnlyList<(string Path, (ulong Device, ulong Inode) Id)> Parents);

/// <summary>One drive of some VM, as the sharing rules see it.</summary>
public sealed record AttachedDisk(string VmName, string Path, bool ReadOnly);

/// <summary>
/// Which disks VMs may share, decided when a disk is attached rather than when a VM starts (Hyper-V refuses a disk in use
/// by another VM the same way). A file — whatever path names it: links and bind mounts are seen through by identity — is
/// attached to one VM only. The parents of differencing disks may be shared read-only by any number of children, but a
/// parent is never attached writable while a child of it is attached, nor a child while its parent is attached
/// writable: writing a parent corrupts every child. Attaches are serialised host-wide (<see cref="Enter"/>), so two at
/// once cannot both pass. The parents of disks already attached are remembered from when they were identified, because
/// a running VM's worker holds its disks locked.
/// </summary>
public sealed class DiskSharing
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, DiskLineage> _known = new(StringComparer.Ordinal);

    /// <summary>Holds the host's attach lock until disposed: the check and the configuration change it allows are one step.</summary>
    public IDisposable Enter()
    {
        _gate.Wait();
        return new Release(_gate);
    }

    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Release(_gate);
    }

    /// <summary>A disk about to be attached: its identity and its parents' (the image was just opened by the checks, so it opens here).</summary>
    public DiskLineage Identify(string path)
    {
        var self = FileStatus.Of(path)?.Identity ?? throw new FileNotFoundException($"'{path}' does not exist on the host", path);
        var parents = new List<(string, (ulong, ulong))>();
        foreach (var parent in HyperSharp.Vhdx.Operations.DiskChain.Paths(path).Skip(1))
            if (FileStatus.Of(parent) is { } status) parents.Add((parent, status.Identity));
        var lineage = new DiskLineage(path, self, parents);
        _known[path] = lineage;
        return lineage;
    }

    /// <summary>Why <paramref name="candidate"/> may not join <paramref name="attached"/> (every VM's drives), or null.</summary>
    public string? Conflict(DiskLineage candidate, bool readOnly, IEnumerable<AttachedDisk> attached)
    {
        foreach (var other in attached)
        {
            if (Lineage(other.Path) is not { } theirs) continue;
            if (theirs.Self == candidate.Self)
                return $"{candidate.Path} is already attached to VM '{other.VmName}'{(other.Path == candidate.Path ? "" : $" (as {other.Path})")}; a disk belongs to one VM";
            if (!readOnly && theirs.Parents.FirstOrDefault(p => p.Id == candidate.Self) is { Path: not null })
                return $"{candidate.Path} is a parent of {other.Path}, attached to VM '{other.VmName}'; writing a parent would corrupt the differencing disks that read through it";
            if (!other.ReadOnly && candidate.Parents.FirstOrDefault(p => p.Id == theirs.Self) is { Path: not null } parent)
                return $"{candidate.Path} reads through its parent {parent.Path}, which VM '{other.VmName}' has attached writable{(other.Path == parent.Path ? "" : $" (as {other.Path})")}; detach it there first";
        }
        return null;
    }

    /// <summary>What is known of an attached disk: remembered, else identified now if it can be opened, else its own identity only.</summary>
    private DiskLineage? Lineage(string path)
    {
        if (_known.TryGetValue(path, out var known) && FileStatus.Of(path)?.Identity == known.Self) return known;
        if (FileStatus.Of(path) is not { } status) return null;
        try { return Identify(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HyperSharp.Vhdx.VirtualDiskException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            return new DiskLineage(path, status.Identity, []); // locked by its running worker, or unreadable: its parents are unknown
        }
    }

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) gate.Release();
        }
    }
}
