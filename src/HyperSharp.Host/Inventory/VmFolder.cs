namespace HyperSharp.Host.Inventory;

/// <summary>The files of one VM's folder in the inventory, by name.</summary>
public sealed record VmFolder(string Path)
{
    public string ConfigFile => Combine("vm.json");
    public string RuntimeFile => Combine("runtime.json");
    /// <summary>The saved state (Save-VM); present only while the VM is Saved or being restored.</summary>
    public string SavedStateFile => Combine("saved.state");
    /// <summary>The worker's control socket, served while a worker runs.</summary>
    public string SocketFile => Combine("worker.sock");
    /// <summary>The worker's standard output and error.</summary>
    public string LogFile => Combine("worker.log");
    /// <summary>Written by a worker that ends on purpose (<see cref="WorkerExitRecord"/>).</summary>
    public string ExitFile => Combine("exit.json");

    private string Combine(string name) => System.IO.Path.Combine(Path, name);
}
