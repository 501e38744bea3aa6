using HyperSharp.Machine.Storage;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// One logical unit of a controller's target: a disk image at a LUN with its flags and identity, the requests using it
/// now (so a hot-remove closes the image only after the last one finished), and a pending unit attention.
/// </summary>
internal sealed class ScsiLun(int number, IVirtualDisk disk, bool readOnly, bool shared, string serial)
{
    private int _users;
    private volatile bool _detached;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _unitAttention; // 0 none, else (key << 16 | asc << 8 | ascq) + 1

    public int Number { get; } = number;
    public IVirtualDisk Disk { get; } = disk;

    /// <summary>Writes are refused: the attachment says so or the image was opened read-only.</summary>
    public bool ReadOnly { get; } = readOnly || disk.IsReadOnly;

    /// <summary>Other VMs may have the same image attached (a guest cluster's shared disk).</summary>
    public bool Shared { get; } = shared;

    /// <summary>
    /// Thin provisioning (UNMAP, WRITE SAME with unmap) is offered: not on a read-only LUN, and not on a shared one, where
    /// releasing blocks would change the image's allocation metadata under its other writers.
    /// </summary>
    public bool CanUnmap => !ReadOnly && !Shared;

    /// <summary>The unit serial number (VPD page 80h) and the base of its device identifier (VPD page 83h).</summary>
    public string Serial { get; } = serial;

    /// <summary>The disk's Storage QoS (normalized IOPS); no limits until set, and a disk attached again starts without.</summary>
    public StorageQos Qos { get; } = new();

    public int BlockSize => Disk.LogicalSectorSize;

    /// <summary>Blocks on the medium now (the disk may be resized while attached).</summary>
    public long BlockCount => Disk.Capacity / Disk.LogicalSectorSize;

    /// <summary>Counts a request in; false once the LUN was detached (the request then sees no LUN).</summary>
    public bool TryEnter()
    {
        Interlocked.Increment(ref _users);
        if (!_detached) return true;
        Exit();
        return false;
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _users) == 0 && _detached) _drained.TrySetResult();
    }

    /// <summary>No new request gets in; completes when the ones already in have finished.</summary>
    public Task Detach()
    {
        _detached = true;
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _users) == 0) _drained.TrySetResult();
        return _drained.Task;
    }

    /// <summary>Sets the unit attention the next command (other than INQUIRY, REPORT LUNS, REQUEST SENSE) reports.</summary>
    public void RaiseUnitAttention(SenseCode sense) => Volatile.Write(ref _unitAttention, (sense.Key << 16 | sense.Asc << 8 | sense.Ascq) + 1);

    /// <summary>Takes the pending unit attention, if any (it is reported once).</summary>
    public SenseCode? TakeUnitAttention()
    {
        int v = Interlocked.Exchange(ref _unitAttention, 0);
        return v == 0 ? null : new SenseCode((byte)((v - 1) >> 16), (byte)((v - 1) >> 8), (byte)(v - 1));
    }

    /// <summary>The pending unit attention without taking it (saved state).</summary>
    public SenseCode? PeekUnitAttention()
    {
        int v = Volatile.Read(ref _unitAttention);
        return v == 0 ? null : new SenseCode((byte)((v - 1) >> 16), (byte)((v - 1) >> 8), (byte)(v - 1));
    }
}
