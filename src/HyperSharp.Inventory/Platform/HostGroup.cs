namespace HyperSharp.Inventory.Platform;

/// <summary>The host's `hypersharp` group: who may use the API socket and read what the host keeps, when it exists.</summary>
public static class HostGroup
{
    public const string Name = "hypersharp";

    /// <summary>The group's id from /etc/group, or null when this host has no such group.</summary>
    public static int? Id()
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/group"))
            {
                var fields = line.Split(':');
                if (fields.Length >= 3 && fields[0] == Name && int.TryParse(fields[2], out int gid)) return gid;
            }
        }
        catch (IOException) { }
        return null;
    }
}
