using HyperSharp.Host.Access;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using HyperSharp.Host.Storage;
using HyperSharp.Inventory.Storage;

namespace HyperSharp.Host.Service;

/// <summary>
/// The paths one request names, checked for the client that sent it before anything changes: absolute, usable by that
/// client (<see cref="PathAccess"/>; PERMISSION_DENIED), then of the right kind and size (INVALID_ARGUMENT) — each error
/// naming the parameter and the file.
/// </summary>
public sealed class RequestPaths(PathAccess access, ClientIdentity client)
{
    /// <summary>The longest path of a VM folder whose sockets (the longest: FOLDER/vsock.sock_18515, the guest agent's) still fit a Unix socket address.</summary>
    private const int MaxSocketPathBytes = 107;

    public ClientIdentity Client => client;

    /// <summary>A kernel to boot (null when none is given).</summary>
    public string? Kernel(string parameter, string? path) => Boot(parameter, path, BootFileCheck.Kernel);

    /// <summary>An initrd (null when none is given).</summary>
    public string? Initrd(string parameter, string? path) => Boot(parameter, path, BootFileCheck.Initrd);

    /// <summary>
    /// A disk to attach, read and written by the VM unless <paramref name="readOnly"/>: usable by the client, and a regular
    /// file or a block device. The image itself is opened later, under the attach lock, once no other VM has it (see DiskSharing).
    /// </summary>
    public string Disk(string parameter, string? path, bool readOnly)
    {
        if (string.IsNullOrEmpty(path)) throw HostErrors.Invalid(parameter, "a disk path is required");
        string full = Usable(parameter, path, readOnly ? PathUse.Read : PathUse.ReadWrite);
        return DiskImageCheck.Kind(full) is { } problem ? throw HostErrors.Invalid(parameter, problem) : full;
    }

    /// <summary>A regular file the client may read (Copy-VMFile's source).</summary>
    public string ReadableFile(string parameter, string? path)
    {
        if (string.IsNullOrEmpty(path)) throw HostErrors.Invalid(parameter, "a file path is required");
        string full = Usable(parameter, path, PathUse.Read);
        return FileStatus.Of(full) switch
        {
            null => throw HostErrors.NotFound($"{parameter}: {full} does not exist on the host"),
            { Kind: FileKind.Regular } => full,
            { } other => throw HostErrors.Invalid(parameter, $"'{full}' is {FileStatus.Describe(other.Kind)}, not a file"),
        };
    }

    /// <summary>A file the host is to create: it does not exist yet, and the client may create files in its folder, which exists.</summary>
    public string NewFile(string parameter, string path)
    {
        string full = RequestValidation.AbsolutePath(parameter, path);
        if (FileStatus.Of(full, followLinks: false) is not null) throw HostErrors.AlreadyExists($"{parameter}: {full} already exists");
        string folder = Path.GetDirectoryName(full)!;
        ExistingFolder(parameter, folder);
        return full;
    }

    /// <summary>New-VM -Path: an existing folder the client may create in, short enough for the VM's worker socket inside.</summary>
    public string VmHome(string parameter, string path)
    {
        string full = RequestValidation.AbsolutePath(parameter, path);
        ExistingFolder(parameter, full);
        int longest = System.Text.Encoding.UTF8.GetByteCount(Path.Combine(full, Guid.Empty.ToString("D"), "vsock.sock_18515"));
        if (longest > MaxSocketPathBytes)
            throw HostErrors.Invalid(parameter, $"'{full}' is too long: the VM's sockets inside it would take {longest} bytes, a Unix socket address holds {MaxSocketPathBytes}");
        return full;
    }

    /// <summary>An existing folder the client may create files in (Export-VM -Path, Import-VM -VhdDestinationPath...).</summary>
    public string Folder(string parameter, string path)
    {
        string full = RequestValidation.AbsolutePath(parameter, path);
        ExistingFolder(parameter, full);
        return full;
    }

    /// <summary>Hands a file the host made for the client over to them (a local user's new disk is theirs).</summary>
    public void GiveToClient(string path) => PathAccess.GiveTo(client, path);

    private void ExistingFolder(string parameter, string folder)
    {
        // Never made on the client's behalf: a mistyped folder is an error, not a new tree somewhere unexpected.
        if (FileStatus.Of(folder) is not { } status)
            throw HostErrors.NotFound($"{parameter}: the folder {folder} does not exist on the host; create it first");
        if (status.Kind != FileKind.Directory) throw HostErrors.Invalid(parameter, $"'{folder}' is {FileStatus.Describe(status.Kind)}, not a folder");
        Allowed(folder, PathUse.CreateIn, parameter);
    }

    private string? Boot(string parameter, string? path, Func<string, string?> check)
    {
        if (string.IsNullOrEmpty(path)) return null;
        string full = Usable(parameter, path, PathUse.Read);
        return check(full) is { } problem ? throw HostErrors.Invalid(parameter, problem) : full;
    }

    private string Usable(string parameter, string path, PathUse use)
    {
        string full = RequestValidation.AbsolutePath(parameter, path);
        Allowed(full, use, parameter);
        return full;
    }

    private void Allowed(string path, PathUse use, string parameter)
    {
        if (access.Denied(client, path, use) is { } why) throw HostErrors.PermissionDenied($"{parameter}: {why}");
    }
}
