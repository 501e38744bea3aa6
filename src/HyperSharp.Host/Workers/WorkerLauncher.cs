using System.Diagnostics;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Workers;

/// <summary>
/// Starts `hyper worker` for a VM folder as a process of its own session (setsid), its output appended to
/// the folder's worker.log, so it outlives the host: a host restart or crash never takes a VM down. It runs under
/// the inventory's umask, so what it writes — its log, the saved state with the guest's memory — is private.
/// </summary>
public sealed class WorkerLauncher(IReadOnlyList<string> workerCommand, InventoryPermissions permissions)
{
    /// <summary>The program and leading arguments that run `hyper` (e.g. dotnet /opt/hypersharp/hyper.dll).</summary>
    public IReadOnlyList<string> WorkerCommand { get; } = workerCommand;

    /// <summary>How this process itself was started, for a host that launches its workers with the same `hyper`.</summary>
    public static IReadOnlyList<string> CurrentHyper()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program this process runs");
        string? entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        // `dotnet hyper.dll`: the process is the dotnet muxer, the command is the DLL it was given.
        return Path.GetFileNameWithoutExtension(process) == "dotnet" && !string.IsNullOrEmpty(entry) ? [process, entry] : [process];
    }

    /// <summary>Starts the worker (restoring the folder's saved state when <paramref name="restore"/>); returns the launching process (the worker itself once the shell and setsid have exec'd).</summary>
    public Process Launch(VmFolder folder, bool restore, string? reportTo = null, IncomingMigration? incoming = null)
    {
        // The shell only redirects and execs: no quoting of paths, they travel as separate arguments.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("umask \"$HYPERSHARP_WORKER_UMASK\" && exec setsid \"$@\" >>\"$HYPERSHARP_WORKER_LOG\" 2>&1 </dev/null");
        psi.ArgumentList.Add("hyper-worker");
        foreach (var part in WorkerCommand) psi.ArgumentList.Add(part);
        foreach (var part in WorkerArguments.For(folder.Path, restore, reportTo, incoming)) psi.ArgumentList.Add(part);
        psi.Environment["HYPERSHARP_WORKER_LOG"] = folder.LogFile;
        psi.Environment["HYPERSHARP_WORKER_UMASK"] = permissions.WorkerUmask;
        // A worker runs guest code from its first second: full optimization at once beats the tiered JIT's
        // warm-up there (the same setting `hyper vm run` gets from the hyper script).
        psi.Environment[VmProcessTuning.Variable] = VmProcessTuning.Value;
        return Process.Start(psi) ?? throw new InvalidOperationException("the worker process did not start");
    }
}
