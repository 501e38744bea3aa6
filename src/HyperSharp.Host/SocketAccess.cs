using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host;

/// <summary>
/// The API socket's permissions are its access control: root and the `hypersharp` group (mode 0660)
/// when that group exists, root only (0600) otherwise.
/// </summary>
internal static class SocketAccess
{
    public static string Restrict(string socketPath)
    {
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (HostGroup.Id() is int gid && Posix.Chown(socketPath, 0, gid))
        {
            Posix.SetMode(socketPath, owner | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            return $"{socketPath}: mode 0660, group {HostGroup.Name}";
        }
        Posix.SetMode(socketPath, owner);
        return $"{socketPath}: mode 0600 (no group '{HostGroup.Name}' on this host: root only)";
    }
}
