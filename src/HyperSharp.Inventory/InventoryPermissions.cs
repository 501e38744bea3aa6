using HyperSharp.Inventory.Platform;

namespace HyperSharp.Inventory;

/// <summary>
/// The modes of what the host keeps, which holds guest memory (saved.state) and whatever the guest printed (worker.log):
/// folders 0700 and files 0600 — root only — or, when the host has a `hypersharp` group, folders 2750 and files 0640
/// with that group, so its members can read (never change) the inventory. The setgid bit on the folders gives that group
/// to every file made inside them, by the host or by a worker, whose umask (<see cref="WorkerUmask"/>) does the rest.
/// Folders and files an older build left looser are tightened when the host starts.
/// </summary>
public sealed class InventoryPermissions(int? groupId)
{
    private const UnixFileMode SetGroupId = (UnixFileMode)0b010_000_000_000;

    /// <summary>This host's: with the hypersharp group if /etc/group has one.</summary>
    public static InventoryPermissions Current { get; } = new(HostGroup.Id());

    public int? GroupId { get; } = groupId;

    public UnixFileMode FolderMode => GroupId is null ? (UnixFileMode)0b111_000_000 : SetGroupId | (UnixFileMode)0b111_101_000;

    public UnixFileMode FileMode => GroupId is null ? (UnixFileMode)0b110_000_000 : (UnixFileMode)0b110_100_000;

    /// <summary>The umask a worker runs under, so what it writes gets <see cref="FileMode"/> (the folder's setgid bit gives the group).</summary>
    public string WorkerUmask => GroupId is null ? "077" : "027";

    public void SecureFolder(string path) => Secure(path, FolderMode);

    public void SecureFile(string path) => Secure(path, FileMode);

    /// <summary>
    /// The inventory root must be a folder of the host's own: tightening a shared folder such as /tmp (sticky, owned by
    /// someone else) would break it for everyone, and keeping VMs in it would let others swap their files.
    /// </summary>
    public static void CheckRoot(string root)
    {
        var status = FileStatus.Of(root) ?? throw new IOException($"{root} does not exist");
        if (status.Kind != FileKind.Directory) throw new IOException($"the inventory root {root} is {FileStatus.Describe(status.Kind)}, not a folder");
        bool sticky = (status.Mode & UnixFileMode.StickyBit) != 0, othersWrite = (status.Mode & UnixFileMode.OtherWrite) != 0;
        if (status.Uid != PosixIds.EffectiveUid || sticky || othersWrite)
            throw new IOException($"the inventory root {root} is shared (owner uid {status.Uid}, mode {Convert.ToString((int)status.Mode, 8)}): give the host a folder of its own, e.g. /var/lib/hypersharp");
    }

    private void Secure(string path, UnixFileMode mode)
    {
        if (GroupId is int gid) Posix.Chown(path, -1, gid);
        Posix.SetMode(path, mode);
    }
}
