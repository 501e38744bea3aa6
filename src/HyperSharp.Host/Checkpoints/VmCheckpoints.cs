using System.Globalization;
using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Checkpoints;

/// <summary>
/// What a checkpoint request produced: the checkpoint (null after a remove), what users should be warned of, how long a
/// running guest was paused for it, and of a production checkpoint the guest's file systems its agent froze and for how long.
/// </summary>
public sealed record CheckpointOutcome(CheckpointRecord? Checkpoint, List<string> Warnings, double PauseMs = 0, List<string>? FrozenMounts = null, double FrozenMs = 0);

/// <summary>
/// Checkpoint-VM, Restore-, Remove- and Rename-VMSnapshot on the VM's checkpoint tree (kept in its configuration):
/// each under the VM's operation lock, the images made or merged first and the configuration written last, so a
/// failure leaves the tree as it was.
/// </summary>
public sealed class VmCheckpoints(VmConfigurationStore store, VmLifecycle lifecycle, Action<string> log)
{
    /// <summary>Hyper-V's limit of checkpoints per VM.</summary>
    public const int MaxCheckpoints = 50;


    /// <summary>
    /// Checkpoint-VM: every drive frozen under a new checkpoint the VM's current state now descends from; of a running (or
    /// paused) VM a standard checkpoint also holds its memory, processor and device state, taken by its worker in the same
    /// pause as the disk switch (of a Saved VM, its saved state), and a production one (see <see cref="ProductionCheckpoints"/>) the disks only, switched
    /// while the guest's agent holds its file systems frozen.
    /// </summary>
    public async Task<CheckpointOutcome> CreateAsync(ManagedVm vm, string? name, CancellationToken cancellationToken)
    {
        using var _ = lifecycle.Begin(vm, "checkpointing");
        var config = vm.Config;
        var warnings = new List<string>();
        switch (config.CheckpointType)
        {
            case CheckpointType.Disabled:
                throw HostErrors.Precondition($"VM '{vm.Name}' has checkpoints disabled (its checkpoint type is Disabled); change it with Set-VM -CheckpointType");
        }
        bool running = vm.State is PowerState.Running or PowerState.Paused;
        bool saved = vm.State == PowerState.Saved;
        if (!running && !saved && vm.State != PowerState.Off) throw HostErrors.WrongState(vm.Name, vm.State, "checkpoint (a VM that is Off, Saved, Running or Paused can be)");
        bool production = ProductionCheckpoints.Wanted(config.CheckpointType);
        if (production && !running)
        {
            ProductionCheckpoints.FallBack(vm, $"no guest agent freezes the file systems of a VM that is {(saved ? "saved" : "off")}", warnings);
            production = false;
        }
        // Merges that waited while the VM ran (a checkpoint removed then) are done first, so the new one freezes the merged images.
        if (!running)
        {
            warnings.AddRange(Collect(vm, []));
            config = vm.Config;
        }
        if (config.Checkpoints.Count >= MaxCheckpoints)
            throw HostErrors.Precondition($"VM '{vm.Name}' has {config.Checkpoints.Count} checkpoints, the most a VM may have; remove some first");
        string checkpointName = string.IsNullOrEmpty(name) ? DefaultName(vm.Name, config) : ValidName("name", name);
        if (Find(config, checkpointName) is not null) throw HostErrors.AlreadyExists($"VM '{vm.Name}' already has a checkpoint named '{checkpointName}'");
        // A running VM's worker holds its images open (exclusively): they are checked for being there, not opened.
        if (CheckpointDiskFiles.Problem(config.Disks, open: !running) is { } problem) throw HostErrors.Precondition($"cannot checkpoint VM '{vm.Name}': {problem}");

        var id = Guid.NewGuid();
        string? stateFile = null;
        WorkerResponse? answer = null;
        List<string> children;
        if (running)
        {
            children = [.. config.Disks.Select(d => CheckpointDiskFiles.ChildPath(d.Path))];
            var switches = config.Disks.Select((d, i) => (d.Path, children[i])).ToDictionary(p => p.Item1, p => p.Item2);
            if (production && ProductionCheckpoints.Obstacle(vm) is { } obstacle)
            {
                ProductionCheckpoints.FallBack(vm, obstacle, warnings);
                production = false;
            }
            if (production)
            {
                answer = await SendAsync(vm, new WorkerRequest { Op = WorkerOps.Checkpoint, Children = switches, Freeze = true }, cancellationToken).ConfigureAwait(false);
                if (answer.FreezeRefused is { } refused)
                {
                    ProductionCheckpoints.FallBack(vm, refused, warnings);
                    production = false;
                }
                else if (answer.ThawProblem is { } thaw) warnings.Add($"VM '{vm.Name}': {thaw}");
            }
            if (!production)
            {
                stateFile = Path.Combine(vm.Folder.CheckpointsFolder, $"{id:D}.state");
                Directory.CreateDirectory(Path.GetDirectoryName(stateFile)!);
                answer = await SendAsync(vm, new WorkerRequest { Op = WorkerOps.Checkpoint, Path = stateFile, Children = switches }, cancellationToken).ConfigureAwait(false);
            }
            log($"VM '{vm.Name}': its worker took the {(production ? "production" : "standard")} checkpoint with the guest paused {answer!.PauseMs:0.0} ms"
                + (production ? $", its file systems frozen {answer.FrozenMs:0.0} ms" : ""));
        }
        else
        {
            // A Saved VM's checkpoint keeps its saved state too (that state names the images frozen here; resumed, the
            // worker finds the drives on their new children). Kept first, so a failure leaves no children behind.
            if (saved) stateFile = KeepSavedState(vm, id);
            try { children = CheckpointDiskFiles.CreateChildren([.. config.Disks.Select(d => d.Path)]); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Vhdx.VirtualDiskException)
            {
                if (stateFile is not null) File.Delete(stateFile);
                throw HostErrors.Precondition($"cannot checkpoint VM '{vm.Name}': making the differencing disks failed: {e.Message}");
            }
        }
        var checkpoint = new CheckpointRecord
        {
            Id = id, Name = checkpointName, ParentId = config.CurrentCheckpointId, SavedStateFile = stateFile, Production = production,
            CreationTimeUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Disks = [.. config.Disks.Select(d => new CheckpointDisk { Drive = d, Path = d.Path })],
            Configuration = config with { Checkpoints = [], CurrentCheckpointId = null },
        };
        var next = config with
        {
            Checkpoints = [.. config.Checkpoints, checkpoint], CurrentCheckpointId = checkpoint.Id,
            Disks = [.. config.Disks.Select((d, i) => d with { Path = children[i] })],
        };
        try { store.Commit(vm, next); }
        catch
        {
            // A running VM already writes to its children: they stay, and the host says what to repair.
            if (!running)
            {
                foreach (var child in children) File.Delete(child);
                if (stateFile is not null) File.Delete(stateFile);
            }
            throw;
        }
        log($"VM '{vm.Name}': checkpoint '{checkpoint.Name}' taken; the VM goes on in {string.Join(", ", children)}");
        return new CheckpointOutcome(checkpoint, warnings, answer?.PauseMs ?? 0, answer?.FrozenMounts, answer?.FrozenMs ?? 0);
    }

    /// <summary>The Saved VM's state, kept as checkpoint <paramref name="id"/>'s memory state (a hard link where it can be).</summary>
    private static string KeepSavedState(ManagedVm vm, Guid id)
    {
        string stateFile = Path.Combine(vm.Folder.CheckpointsFolder, $"{id:D}.state");
        try
        {
            Directory.CreateDirectory(vm.Folder.CheckpointsFolder);
            StateFileCopy.Make(vm.Folder.SavedStateFile, stateFile);
            return stateFile;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw HostErrors.Precondition($"cannot checkpoint VM '{vm.Name}': keeping its saved state {vm.Folder.SavedStateFile} as {stateFile} failed: {e.Message}");
        }
    }

    private async Task<WorkerResponse> SendAsync(ManagedVm vm, WorkerRequest request, CancellationToken cancellationToken)
    {
        try { return await lifecycle.Workers.SendAsync(vm, request, cancellationToken).ConfigureAwait(false); }
        catch (WorkerException e) { throw HostErrors.Precondition($"cannot checkpoint VM '{vm.Name}': {e.Message}"); }
    }

    /// <summary>Get-VMSnapshot: the VM's checkpoints whose name matches <paramref name="filter"/> (wildcards), oldest first.</summary>
    public static List<CheckpointRecord> List(ManagedVm vm, string? filter) =>
        [.. vm.Config.Checkpoints.Where(c => string.IsNullOrEmpty(filter) || Wildcard.Matches(filter, c.Name))];

    /// <summary>The checkpoint <paramref name="id"/> (a GUID) or <paramref name="name"/> names; NOT_FOUND naming both the VM and what was asked.</summary>
    public static CheckpointRecord Resolve(ManagedVm vm, string? id, string? name)
    {
        var config = vm.Config;
        if (!string.IsNullOrEmpty(id))
        {
            if (!Guid.TryParse(id, out var guid)) throw HostErrors.Invalid("checkpoint.id", $"'{id}' is not a GUID");
            return config.Checkpoints.FirstOrDefault(c => c.Id == guid) ?? throw HostErrors.NotFound($"VM '{vm.Name}' has no checkpoint with id {guid}");
        }
        if (string.IsNullOrEmpty(name)) throw HostErrors.Invalid("checkpoint", "name the checkpoint (its name or id)");
        return Find(config, name) ?? throw HostErrors.NotFound($"VM '{vm.Name}' has no checkpoint named '{name}'");
    }

    /// <summary>
    /// Restore-VMSnapshot: the VM's current state is discarded (a running VM is turned off first, a saved state deleted)
    /// and the VM goes on from the checkpoint: its configuration and a new differencing child of each of its disks.
    /// </summary>
    public async Task<CheckpointOutcome> RestoreAsync(ManagedVm vm, Guid checkpointId, CancellationToken cancellationToken)
    {
        using var _ = lifecycle.Begin(vm, "restoring a checkpoint of");
        var checkpoint = vm.Config.Checkpoints.FirstOrDefault(c => c.Id == checkpointId) ?? throw HostErrors.NotFound($"VM '{vm.Name}' no longer has that checkpoint");
        if (CheckpointDiskFiles.Problem(checkpoint.Disks.Select(d => d.Drive with { Path = d.Path })) is { } problem)
            throw HostErrors.Precondition($"cannot restore checkpoint '{checkpoint.Name}' of VM '{vm.Name}': {problem}");
        if (vm.State is PowerState.Running or PowerState.Paused) await lifecycle.TurnOffAsync(vm, cancellationToken).ConfigureAwait(false);
        if (vm.State == PowerState.Saved) lifecycle.DiscardSavedState(vm, $"its saved state was discarded (checkpoint '{checkpoint.Name}' restored)");
        if (vm.State != PowerState.Off) throw HostErrors.WrongState(vm.Name, vm.State, "restore a checkpoint of");

        List<string> children;
        try { children = CheckpointDiskFiles.CreateChildren([.. checkpoint.Disks.Select(d => d.Path)]); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Vhdx.VirtualDiskException)
        {
            throw HostErrors.Precondition($"cannot restore checkpoint '{checkpoint.Name}' of VM '{vm.Name}': making the differencing disks failed: {e.Message}");
        }
        var config = vm.Config;
        var discarded = config.Disks.Select(d => d.Path).Where(CheckpointDiskFiles.MadeByCheckpoint).ToList();
        var then = checkpoint.Configuration;
        var next = config with
        {
            Generation = then.Generation, Backend = then.Backend, Processor = then.Processor, Memory = then.Memory, Boot = then.Boot,
            Disks = [.. checkpoint.Disks.Select((d, i) => d.Drive with { Path = children[i] })],
            CurrentCheckpointId = checkpoint.Id,
        };
        store.Commit(vm, next);
        // A checkpoint of the running VM leaves it Saved at that instant: its state, whose images the new children build on.
        if (checkpoint.SavedStateFile is { } state)
        {
            try
            {
                File.Delete(vm.Folder.SavedStateFile); // a stale one of an Off VM would be overwritten, as a copy would
                StateFileCopy.Make(state, vm.Folder.SavedStateFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw HostErrors.Internal($"VM '{vm.Name}' is back on the disks of checkpoint '{checkpoint.Name}' but its memory state {state} could not be copied: {e.Message}; the VM is Off");
            }
            lifecycle.AdoptSavedState(vm, $"checkpoint '{checkpoint.Name}' restored");
        }
        var warnings = Collect(vm, discarded);
        log($"VM '{vm.Name}': checkpoint '{checkpoint.Name}' restored; the VM goes on in {string.Join(", ", children)}");
        return new CheckpointOutcome(checkpoint, warnings);
    }

    /// <summary>
    /// Remove-VMSnapshot: the checkpoint (and with <paramref name="includeChildren"/> its subtree) leaves the tree; its
    /// children move up to its parent, and its images are merged into the one image that still needs them.
    /// </summary>
    public Task<CheckpointOutcome> RemoveAsync(ManagedVm vm, Guid checkpointId, bool includeChildren, CancellationToken cancellationToken)
    {
        using var _ = lifecycle.Begin(vm, "removing a checkpoint of");
        var config = vm.Config;
        var checkpoint = config.Checkpoints.FirstOrDefault(c => c.Id == checkpointId) ?? throw HostErrors.NotFound($"VM '{vm.Name}' no longer has that checkpoint");
        var removed = new HashSet<Guid> { checkpoint.Id };
        if (includeChildren)
            for (bool grew = true; grew;)
            {
                grew = false;
                foreach (var c in config.Checkpoints)
                    if (c.ParentId is { } parent && removed.Contains(parent)) grew |= removed.Add(c.Id);
            }
        Guid? current = config.CurrentCheckpointId;
        while (current is { } id && removed.Contains(id)) current = config.Checkpoints.First(c => c.Id == id).ParentId;
        var gone = config.Checkpoints.Where(c => removed.Contains(c.Id)).ToList();
        var next = config with
        {
            Checkpoints = [.. config.Checkpoints.Where(c => !removed.Contains(c.Id)).Select(c => c.ParentId == checkpoint.Id ? c with { ParentId = checkpoint.ParentId } : c)],
            CurrentCheckpointId = current,
        };
        store.Commit(vm, next);
        foreach (var state in gone.Select(c => c.SavedStateFile).OfType<string>()) File.Delete(state);
        var warnings = Collect(vm, gone.SelectMany(c => c.Disks.Select(d => d.Path)));
        log($"VM '{vm.Name}': checkpoint '{checkpoint.Name}'{(gone.Count > 1 ? $" and {gone.Count - 1} below it" : "")} removed");
        return Task.FromResult(new CheckpointOutcome(null, warnings));
    }

    /// <summary>Rename-VMSnapshot: a new name, unique among the VM's checkpoints.</summary>
    public CheckpointRecord Rename(ManagedVm vm, Guid checkpointId, string newName)
    {
        using var _ = lifecycle.Begin(vm, "renaming a checkpoint of");
        string name = ValidName("new_name", newName);
        var config = vm.Config;
        var checkpoint = config.Checkpoints.FirstOrDefault(c => c.Id == checkpointId) ?? throw HostErrors.NotFound($"VM '{vm.Name}' no longer has that checkpoint");
        if (Find(config, name) is { } other && other.Id != checkpointId) throw HostErrors.AlreadyExists($"VM '{vm.Name}' already has a checkpoint named '{other.Name}'");
        var renamed = checkpoint with { Name = name };
        store.Commit(vm, config with { Checkpoints = [.. config.Checkpoints.Select(c => c.Id == checkpointId ? renamed : c)] });
        return renamed;
    }

    /// <summary>
    /// Merges or deletes what no longer has a use; what must wait comes back as warnings. While a worker runs the VM it
    /// holds the drives' images exclusively (not even their chains can be read), so everything waits for the VM to be off
    /// (the next checkpoint operation then does it); a Saved VM's state names its drives' images, so those stay as they are.
    /// </summary>
    private List<string> Collect(ManagedVm vm, IEnumerable<string> released)
    {
        if (vm.State != PowerState.Off && vm.State != PowerState.Saved)
        {
            var waiting = released.Where(File.Exists).ToList();
            return waiting.Count == 0 ? []
                : [$"{string.Join(", ", waiting)} will be merged or deleted once the VM is off (its worker has the disks open), at the next checkpoint operation"];
        }
        try
        {
            var (config, pending) = CheckpointMerges.Collect(vm.Config, released, drivesInUse: vm.State == PowerState.Saved, line => log($"VM '{vm.Name}': {line}"));
            if (!ReferenceEquals(config, vm.Config)) store.Commit(vm, config);
            return pending;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Vhdx.VirtualDiskException or InvalidDataException)
        {
            log($"VM '{vm.Name}': merging checkpoint disks failed: {e.Message}");
            return [$"the checkpoint's disks could not be merged yet ({e.Message}); they are kept, and the checkpoint is gone from the tree"];
        }
    }

    private static CheckpointRecord? Find(VmConfiguration config, string name) =>
        config.Checkpoints.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    private static string ValidName(string parameter, string name)
    {
        string trimmed = name.Trim();
        if (trimmed.Length == 0) throw HostErrors.Invalid(parameter, "a checkpoint name cannot be empty");
        if (trimmed.Length > 100) throw HostErrors.Invalid(parameter, $"'{trimmed[..20]}...' is {trimmed.Length} characters; a checkpoint name has at most 100");
        if (trimmed.Any(char.IsControl)) throw HostErrors.Invalid(parameter, "a checkpoint name cannot contain control characters");
        return trimmed;
    }

    /// <summary>Hyper-V's default name, "VMNAME - (M/d/yyyy - h:mm:ss tt)" in the host's local time; a second one in the same second gets " (2)"...</summary>
    private static string DefaultName(string vmName, VmConfiguration config)
    {
        string name = $"{vmName} - ({DateTime.Now.ToString("M/d/yyyy - h:mm:ss tt", CultureInfo.InvariantCulture)})";
        string candidate = name;
        for (int n = 2; Find(config, candidate) is not null; n++) candidate = $"{name} ({n})";
        return candidate;
    }
}
