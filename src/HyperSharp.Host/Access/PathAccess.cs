using System.Runtime.InteropServices;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Access;

/// <summary>What a client means to do with a path it names.</summary>
public enum PathUse
{
    /// <summary>Read it: a kernel, an initrd, a read-only disk, the source of a copy.</summary>
    Read,
    /// <summary>Read and write it: a disk.</summary>
    ReadWrite,
    /// <summary>Make a new file or folder in it (the path is the folder): a new disk, a VM's folder.</summary>
    CreateIn,
}

/// <summary>
/// The host opens files as root, so it must not open for a client what that client could not open itself. Root
/// (and a client running as the host's own user) may name any path. Another local user may name only what the kernel
/// lets them use — checked with their own credentials (<see cref="ThreadCredentials"/>): readable for reading,
/// readable and writable for disks, writable and searchable for a folder to create in. A remote administrator has
/// no local identity: they may name only paths under the storage paths the host was given (after resolving links).
/// Files the host makes for a local user (a new disk) become theirs.
/// </summary>
public sealed partial class PathAccess(IReadOnlyList<string> storagePaths)
{
    private const int ENOENT = 2, EACCES = 13, EROFS = 30, EPERM = 1, ENOTDIR = 20;
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial byte* realpath(string path, byte* resolved);

    /// <summary>The folders remote clients' paths must lie in.</summary>
    public IReadOnlyList<string> StoragePaths { get; } = [.. storagePaths.Select(p => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p)))];

    /// <summary>Null when <paramref name="client"/> may use <paramref name="path"/> so, else why not ("PATH: permission denied: ...").</summary>
    public string? Denied(ClientIdentity client, string path, PathUse use) => Denied(client, [(path, use)]);

    /// <summary>The first of several paths the client may not use as it says, or null when it may use them all.</summary>
    public string? Denied(ClientIdentity client, IReadOnlyList<(string Path, PathUse Use)> paths)
    {
        switch (client)
        {
            case LocalUser { Credentials: var c } when c.Uid != 0 && c.Uid != PosixIds.EffectiveUid:
                int[] errors;
                try { errors = ThreadCredentials.Access(c.Uid, c.Gid, c.Groups, [.. paths.Select(p => (p.Path, Mode(p.Use)))]); }
                catch (UnauthorizedAccessException e) { return $"{paths[0].Path}: {e.Message}"; }
                // A path that does not exist as the client sees it is left to the checks that follow, which say so.
                for (int i = 0; i < errors.Length; i++)
                    if (errors[i] is not (0 or ENOENT)) return $"{paths[i].Path}: {Reason(errors[i], paths[i].Use, client)}";
                return null;
            case RemoteAdministrator:
                foreach (var (path, _) in paths)
                    if (!InStoragePaths(path, out string resolved))
                        return $"{path}: permission denied: {client.Description} may name only paths under {(StoragePaths.Count == 0 ? "(no storage paths configured)" : string.Join(", ", StoragePaths))}" +
                            (resolved != path ? $" (it resolves to {resolved})" : "");
                return null;
            default:
                return null; // root, or the host's own user: the host's rights are theirs
        }
    }

    /// <summary>Makes a file the host just created for <paramref name="client"/> theirs (a local user's new disk), so they can use it later.</summary>
    public static void GiveTo(ClientIdentity client, string path)
    {
        if (client is LocalUser { Credentials: var c } && c.Uid != 0) Posix.Chown(path, (int)c.Uid, (int)c.Gid);
    }

    private bool InStoragePaths(string path, out string resolved)
    {
        resolved = Resolve(path);
        foreach (var root in StoragePaths)
        {
            string canonicalRoot = Resolve(root);
            if (resolved == canonicalRoot || resolved.StartsWith(canonicalRoot + "/", StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>The path with every link resolved (realpath); a path that does not exist yet resolves through its folder.</summary>
    private static unsafe string Resolve(string path)
    {
        byte* buffer = stackalloc byte[4097];
        if (realpath(path, buffer) != null) return Marshal.PtrToStringUTF8((IntPtr)buffer)!;
        string? parent = Path.GetDirectoryName(path);
        return parent is null || parent == path ? path : Path.Combine(Resolve(parent), Path.GetFileName(path));
    }

    private static int Mode(PathUse use) => use switch
    {
        PathUse.Read => ThreadCredentials.Read,
        PathUse.ReadWrite => ThreadCredentials.Read | ThreadCredentials.Write,
        _ => ThreadCredentials.Write | ThreadCredentials.Search,
    };

    private static string Reason(int errno, PathUse use, ClientIdentity client) => errno switch
    {
        EACCES or EPERM => $"permission denied: {client.Description} may not {use switch { PathUse.Read => "read it", PathUse.ReadWrite => "read and write it", _ => "create files in it" }}",
        ENOTDIR => "does not exist (a part of it is not a folder)",
        EROFS => "is on a read-only file system",
        _ => Marshal.GetPInvokeErrorMessage(errno),
    };
}
