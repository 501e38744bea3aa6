namespace HyperSharp.Host;

/// <summary>
/// One host per inventory: the host holds ROOT/.host.lock open exclusively (an flock the kernel drops
/// when the process dies, however it dies), so a second `hyper host` on the same root refuses to start
/// instead of fighting the first over its VMs. Workers do not inherit it (.NET opens files close-on-exec).
/// </summary>
internal static class InventoryLock
{
    public static IDisposable Take(string root)
    {
        string path = Path.Combine(root, ".host.lock");
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e)
        {
            throw new IOException($"another hyper host is already managing {root} ({path} is locked)", e);
        }
    }
}
