using System.Diagnostics;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine.Migration;

/// <summary>
/// Hands a VM's writable disks from a live migration's source to its destination inside the pause. The fence is the image's
/// own lock: a writable VHDX (or VHD, raw) is held with an exclusive advisory lock (FileShare.None) that the kernel drops when
/// the file is closed or its process dies, and a second writer's open fails while it is held. The source flushes and closes
/// its images before it tells the destination, which opens them before it says Ready — so both never hold one for writing,
/// and a source whose migration failed before the handover takes them back once the destination has let go.
/// </summary>
internal static class DiskHandover
{
    /// <summary>How long a source waits for a failed destination to let go of the images before it gives up taking them back.</summary>
    public static readonly TimeSpan ReclaimPatience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The source, paused and with its devices quiet (after the state capture: no request in flight): each writable image is
    /// flushed and closed, a stand-in with its geometry in its place. Returns the disks released, for <see cref="Reclaim"/>.
    /// </summary>
    public static IReadOnlyList<SwitchableDisk> Release(AttachedDisks disks)
    {
        var released = new List<SwitchableDisk>();
        try
        {
            foreach (var disk in disks.Writable)
            {
                if (disk.Inner is DetachedDisk) continue;
                disk.Inner.Flush();
                disk.Switch(DetachedDisk.Of(disk.Inner)).Dispose();
                released.Add(disk);
            }
            return released;
        }
        catch
        {
            Reclaim(released, ReclaimPatience); // nobody else has been told: they are free at once
            throw;
        }
    }

    /// <summary>
    /// The source, after a failure before the handover: opens the released images again. A destination that opened them lets
    /// go as it fails (its VM disposed, or its process gone), which may be a moment after the source heard of the failure:
    /// the open is retried until <paramref name="patience"/> runs out, then this throws naming the image still held.
    /// </summary>
    public static void Reclaim(IReadOnlyList<SwitchableDisk> released, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        foreach (var disk in released)
        {
            while (true)
            {
                try
                {
                    disk.Switch(VirtualDisk.Open(disk.Path, DiskOpenOptions.Default)).Dispose();
                    break;
                }
                catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
                {
                    // The lock's holder says nothing when it lets go, and .NET offers no blocking lock: look again shortly.
                    if (clock.Elapsed > patience)
                        throw new MigrationException($"{disk.Path} could not be opened again for writing within {patience.TotalSeconds:0} s after the migration failed ({e.Message}): another process holds it; the VM stays paused here", e);
                    Thread.Sleep(10);
                }
            }
        }
    }

    /// <summary>
    /// The destination, once the source has released its images (its Done): opens each writable image the VM was built
    /// without. All or none: a failure closes those opened and throws naming the image, so the source can take them back.
    /// </summary>
    public static void Open(AttachedDisks disks)
    {
        var opened = new List<SwitchableDisk>();
        try
        {
            foreach (var disk in disks.Writable)
            {
                if (disk.Inner is not DetachedDisk) continue;
                try { disk.Switch(VirtualDisk.Open(disk.Path, DiskOpenOptions.Default)); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or VirtualDiskException)
                {
                    throw new MigrationException($"the VM's disk {disk.Path} cannot be opened for writing here: {e.Message}", e);
                }
                opened.Add(disk);
            }
            disks.OpenWritableLater = false;
        }
        catch
        {
            foreach (var disk in opened) disk.Switch(new DetachedDisk(disk.Path)).Dispose();
            throw;
        }
    }
}
