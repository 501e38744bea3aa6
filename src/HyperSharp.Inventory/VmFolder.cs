namespace HyperSharp.Inventory;

/// <summary>The files of one VM's folder in the inventory, by name.</summary>
public sealed record VmFolder(string Path)
{
    public string ConfigFile => Combine("vm.json");
    public string RuntimeFile => Combine("runtime.json");
    /// <summary>The saved state (Save-VM); present only while the VM is Saved or being restored.</summary>
    public string SavedStateFile => Combine("saved.state");
    /// <summary>The saved states of checkpoints taken while the VM ran (Hyper-V's Snapshots folder), one ID.state each.</summary>
    public string CheckpointsFolder => Combine("checkpoints");
    /// <summary>
    /// Where this host's worker keeps its run files (sockets, log, exit record): the folder itself, or for a folder that
    /// is a link to one elsewhere (New-VM -Path; a clustered VM on shared storage) ROOT/run/ID in the host's own
    /// inventory — two hosts' workers of one shared folder (a live migration between cluster nodes) must not take each
    /// other's sockets. Decided when the record is made: the link may go while a worker's files are still read.
    /// </summary>
    public string RunDirectory { get; init; } = RunDirectoryOf(Path);

    /// <summary>The worker's control socket, served while a worker runs.</summary>
    public string SocketFile => Run("worker.sock");

    /// <summary>The VM's virtio-vsock socket (Firecracker's model): the worker's guest-agent listener is beside it, at vsock.sock_18515.</summary>
    public string VsockFile => Run("vsock.sock");

    /// <summary>Where the host listens while it launches the worker, for the worker's report channel (gone once the worker connects).</summary>
    public string LaunchSocketFile => Run("launch.sock");
    /// <summary>The worker's standard output and error.</summary>
    public string LogFile => Run("worker.log");
    /// <summary>Written by a worker that ends on purpose (<see cref="WorkerExitRecord"/>).</summary>
    public string ExitFile => Run("exit.json");

    /// <summary>Every file the host or its worker makes here: what is private, and all that removing the VM deletes from a folder outside the inventory.</summary>
    public IEnumerable<string> HostFiles => [ConfigFile, RuntimeFile, SavedStateFile, SocketFile, VsockFile, LaunchSocketFile, LogFile, ExitFile, CheckpointsFolder];

    /// <summary>Where the folder really is: the target of the inventory's link for a VM made with New-VM -Path, else the folder itself.</summary>
    public string Location => new DirectoryInfo(Path).LinkTarget is { } target ? System.IO.Path.GetFullPath(target, System.IO.Path.GetDirectoryName(Path)!) : Path;

    private string Combine(string name) => System.IO.Path.Combine(Path, name);

    private string Run(string name) => System.IO.Path.Combine(RunDirectory, name);

    private static string RunDirectoryOf(string path)
    {
        if (new FileInfo(path).LinkTarget is null) return path;
        string vms = System.IO.Path.GetDirectoryName(path)!;
        return System.IO.Path.Combine(System.IO.Path.GetDirectoryName(vms)!, "run", System.IO.Path.GetFileName(path));
    }
}
