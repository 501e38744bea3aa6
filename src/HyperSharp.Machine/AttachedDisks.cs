using HyperSharp.Vhdx;

namespace HyperSharp.Machine;

/// <summary>
/// The VM's disks whatever bus they are on — virtio-blk slots (<see cref="VmDisks"/>) and SCSI LUNs
/// (<see cref="ScsiControllers"/>) — for what treats every disk alike: a checkpoint's switch to differencing children, a
/// live migration's handover of the writable images, Storage QoS by drive name. Each disk's image sits in a
/// <see cref="SwitchableDisk"/>, so the devices never learn that the image behind them changed.
/// </summary>
internal sealed class AttachedDisks(VmDisks blk, ScsiControllers scsi)
{
    /// <summary>
    /// The disks a checkpoint switches and a migration hands over: attached writable and not shared (a shared disk has
    /// other writers, as in Hyper-V it is neither checkpointed nor handed over: both hosts may hold it).
    /// </summary>
    public IReadOnlyList<SwitchableDisk> Writable =>
        [.. blk.Writable, .. scsi.Disks.Where(d => !d.Attachment.ReadOnly && !d.Attachment.Shared).Select(d => d.Disk)];

    /// <summary>Every attached image, virtio-blk first (Resize-VHD on a running VM finds its disk here).</summary>
    public IReadOnlyList<IVirtualDisk> All => [.. blk.Disks, .. scsi.Disks.Select(d => d.Disk)];

    /// <summary>The disk whose image is <paramref name="path"/> now, on either bus; null when none is.</summary>
    public SwitchableDisk? Find(string path) =>
        blk.Disks.OfType<SwitchableDisk>().Concat(scsi.Disks.Select(d => d.Disk)).FirstOrDefault(d => d.Path == path);

    /// <summary>The drive names the disks carry (slot labels, SCSI attachment labels).</summary>
    public IReadOnlyList<string> Labels =>
        [.. blk.Attachments().Select(a => a.Label).OfType<string>(), .. scsi.Disks.Select(d => d.Attachment.Label).OfType<string>()];

    /// <summary>Whether writable images are left closed when attached (a VM arriving by migration), on both buses.</summary>
    public bool OpenWritableLater { set { blk.OpenWritableLater = value; scsi.OpenWritableLater = value; } }

    /// <summary>Sets the Storage QoS of the disk named <paramref name="label"/>, wherever it is; false when no disk is.</summary>
    public bool SetQos(string label, long maximumIops, long minimumIops, Action<long, TimeSpan>? belowMinimum) =>
        blk.SetQos(label, maximumIops, minimumIops, belowMinimum) || scsi.SetQos(label, maximumIops, minimumIops, belowMinimum);

    /// <summary>
    /// A checkpoint's switch, while the VM is paused: each written disk whose image <paramref name="children"/> names goes on
    /// in a new differencing child of it (that path), so the image keeps the disk's contents at this instant. All or none:
    /// a failure puts every disk back on its own image (nothing was written to the children) and removes them.
    /// </summary>
    public void SwitchToChildren(IReadOnlyDictionary<string, string> children)
    {
        var switched = new List<(SwitchableDisk Disk, string Image)>();
        try
        {
            foreach (var disk in Writable)
            {
                if (disk.IsReadOnly || !children.TryGetValue(disk.Path, out var child)) continue;
                string image = disk.Path;
                // The image is closed first: the child opens it as its parent, which this process held exclusively while writing it.
                disk.Inner.Flush();
                disk.Inner.Dispose();
                IVirtualDisk next;
                try { next = OpenNewChild(image, child); }
                catch
                {
                    disk.Switch(VirtualDisk.Open(image, DiskOpenOptions.Default));
                    throw;
                }
                disk.Switch(next);
                switched.Add((disk, image));
            }
        }
        catch
        {
            foreach (var (disk, image) in switched)
            {
                string child = disk.Path;
                disk.Inner.Dispose(); // nothing was written to it; it must let go of its parent before the parent is opened for writing
                disk.Switch(VirtualDisk.Open(image, DiskOpenOptions.Default));
                File.Delete(child);
            }
            throw;
        }
    }

    /// <summary>Makes <paramref name="child"/>, a differencing disk over the closed <paramref name="image"/>, and opens it; a partial child is removed.</summary>
    private static IVirtualDisk OpenNewChild(string image, string child)
    {
        try
        {
            VirtualDisk.Create(child, new DiskCreateOptions { Format = VirtualDisk.FormatFromExtension(child), Type = DiskType.Differencing, ParentPath = image }).Dispose();
            return VirtualDisk.Open(child, DiskOpenOptions.Default);
        }
        catch
        {
            File.Delete(child);
            throw;
        }
    }
}
