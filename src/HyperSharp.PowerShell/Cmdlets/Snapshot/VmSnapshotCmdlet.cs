using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Snapshot;

/// <summary>
/// A checkpoint cmdlet: the checkpoints come as VMSnapshot objects (-VMSnapshot or the pipeline), or by -Name
/// (wildcards) among those of the VMs named by -VMName or passed through -VM. Listed fresh from the host each time.
/// </summary>
public abstract class VmSnapshotCmdlet : VmSelectionCmdlet
{
    protected const string VMNameSet = "VMName", SnapshotSet = "VMSnapshot";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = VMNameSet, HelpMessage = "The name of the virtual machine; wildcards are allowed.")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] VMName { get; set; } = [];

    protected override (string Set, string[] Names) VmNames => (VMNameSet, VMName);

    /// <summary>The checkpoint names the cmdlet was given (null: every checkpoint of the VM).</summary>
    protected abstract string[]? SnapshotNames { get; }

    /// <summary>The checkpoints given as objects, for the -VMSnapshot parameter set.</summary>
    protected virtual VMSnapshot[] SnapshotObjects => [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == SnapshotSet) foreach (var snapshot in SnapshotObjects) ProcessSnapshot(snapshot);
        else base.ProcessRecord();
    }

    protected override void ProcessVm(VirtualMachine vm)
    {
        foreach (var snapshot in Snapshots(vm.Id, vm.Name, SnapshotNames)) ProcessSnapshot(snapshot);
    }

    /// <summary>Does the cmdlet's work on one checkpoint.</summary>
    protected abstract void ProcessSnapshot(VMSnapshot snapshot);

    /// <summary>
    /// The checkpoints of the VM <paramref name="vmId"/> (<paramref name="vmName"/> in errors) whose names match one of <paramref name="names"/> (all when null), oldest
    /// first; a plain name that matches none is a non-terminating ObjectNotFound error, as in Hyper-V.
    /// </summary>
    protected IReadOnlyList<VMSnapshot> Snapshots(Guid vmId, string vmName, string[]? names)
    {
        var request = new ListCheckpointsRequest { Vm = new VmRef { Id = vmId.ToString("D") } };
        if (!TryCall(c => VmHostClient.Checkpoints.ListCheckpoints(request, cancellationToken: c), vmName, out var list)) return [];
        var all = list.Checkpoints.Select(c => VMSnapshot.From(c, HostName)).ToList();
        if (names is null) return all;
        var patterns = names.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        foreach (var name in names.Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && !all.Any(s => string.Equals(s.Name, n, StringComparison.OrdinalIgnoreCase))))
            WriteNotFound($"the virtual machine '{vmName}' has no checkpoint named '{name}'", name);
        return [.. all.Where(s => patterns.Any(p => p.IsMatch(s.Name)))];
    }
}
