using HyperSharp.Host.Platform;

namespace HyperSharp.Host;

/// <summary>
/// The API socket's permissions are its access control: root and the `hypersharp` group (mode 0660)
/// when that group exists, root only (0600) otherwise.
/// </summary>
internal static class SocketAccess
{
    public const string GroupName = "hypersharp";

    public static string Restrict(string socketPath)
    {
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (GroupId(GroupName) is int gid && Posix.Chown(socketPath, 0, gid))
        {
            Posix.SetMode(socketPath, owner | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            return $"{socketPath}: mode 0660, group {GroupName}";
        }
        Posix.SetMode(socketPath, owner);
        return $"{socketPath}: mode 0600 (no group '{GroupName}' on this host: root only)";
    }

    private static int? GroupId(string name)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/group"))
            {
                var fields = line.Split(':');
                if (fields.Length >= 3 && fields[0] == name && int.TryParse(fields[2], out int gid)) return gid;
            }
        }
        catch (IOException) { }
        return null;
    }
}
