using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Inventory;
using HyperSharp.Host.Storage;
using HyperSharp.Inventory.Storage;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;
using HyperSharp.Vhdx;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Service;

/// <summary>
/// The VMs' configuration: New-VM, Set-VM (and Rename-VM), Remove-VM, Set-VMProcessor, and the hard disk
/// drives. Every change is written to the VM's folder first (<see cref="Commit"/>), then made live and announced.
/// </summary>
public sealed class VmConfigurationStore(VmManager vms, VmInventory inventory, PathAccess access, WorkerCgroup cgroup, VmLifecycle lifecycle)
{
    private const long MinNewVhdBytes = 3L << 20, MaxNewVhdBytes = 64L << 40, DefaultMemoryBytes = 512L << 20;
    private readonly object _names = new();
    private readonly DiskSharing _disks = new();

    /// <summary>New-VM: <paramref name="spec"/> checked for <paramref name="client"/>, the VM's folder (and a new disk) made, the VM listed.</summary>
    public ManagedVm Create(NewVm spec, ClientIdentity client)
    {
        var paths = new RequestPaths(access, client);
        string name = RequestValidation.Name("name", spec.Name);
        int generation = RequestValidation.Generation("generation", spec.Generation ?? 2);
        // Absent means the default; 0, like any value out of range, is refused as Set-VM refuses it.
        long memory = RequestValidation.Memory("memory_startup_bytes", spec.MemoryStartupBytes ?? DefaultMemoryBytes);
        int processors = RequestValidation.Processors("processor_count", spec.ProcessorCount ?? 1);
        string backend = RequestValidation.Backend("backend", spec.Backend);
        string notes = RequestValidation.Notes("notes", spec.Notes);
        string? kernel = paths.Kernel("boot.kernel_path", spec.KernelPath), initrd = paths.Initrd("boot.initrd_path", spec.InitrdPath);
        if (kernel is not null && BootFileCheck.FitsInMemory(kernel, initrd, memory) is { } tooBig) throw HostErrors.Invalid("memory_startup_bytes", tooBig);
        var boot = new BootSettings
        {
            KernelPath = kernel ?? "", InitrdPath = initrd,
            CommandLine = string.IsNullOrEmpty(spec.KernelCommandLine) ? "console=ttyS0" : spec.KernelCommandLine,
            Firmware = RequestValidation.Firmware("boot.firmware", spec.Firmware, generation, kernel is not null),
        };
        string? home = string.IsNullOrEmpty(spec.Path) ? null : paths.VmHome("path", spec.Path);
        if (!string.IsNullOrEmpty(spec.VhdPath) && !string.IsNullOrEmpty(spec.NewVhdPath))
            throw HostErrors.Invalid("new_vhd_path", "give either vhd_path (an existing disk) or new_vhd_path (a new one), not both");
        string? disk = string.IsNullOrEmpty(spec.VhdPath) ? null : paths.Disk("vhd_path", spec.VhdPath, readOnly: false);
        string? newDisk = null;
        var newFormat = DiskFormat.Vhdx;
        if (!string.IsNullOrEmpty(spec.NewVhdPath))
        {
            newDisk = paths.NewFile("new_vhd_path", spec.NewVhdPath);
            newFormat = VirtualDisk.FormatFromExtension(newDisk);
            if (newFormat == DiskFormat.Raw) throw HostErrors.Invalid("new_vhd_path", $"'{newDisk}' must end in .vhdx or .vhd: New-VM makes a dynamic disk of the format its name says");
            if (spec.NewVhdSizeBytes is < MinNewVhdBytes or > MaxNewVhdBytes)
                throw HostErrors.Invalid("new_vhd_size_bytes", $"{spec.NewVhdSizeBytes} bytes: a new disk must be from 3 MiB to 64 TiB");
        }

        lock (_names)
        {
            EnsureNameFree(name, null);
            using var attaching = _disks.Enter();
            if (disk is not null) EnsureDiskFree("vhd_path", disk, readOnly: false);
            var controller = generation == 1 ? ControllerType.Ide : ControllerType.Scsi;
            var config = new VmConfiguration
            {
                Id = Guid.NewGuid(), Name = name, Generation = generation, Notes = notes, Backend = backend,
                CreationTimeUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                Processor = new ProcessorSettings { Count = processors },
                Memory = new MemorySettings { StartupBytes = memory, MinimumBytes = memory, MaximumBytes = Math.Max(memory, 1L << 40) },
                Boot = boot,
                Disks = (disk ?? newDisk) is { } first ? [new DiskSettings { Path = first, ControllerType = controller }] : [],
            };
            // The folder is staged first and the new disk made next, so a failure anywhere removes both: nothing is left behind.
            VmFolder folder;
            try
            {
                using var staged = inventory.Stage(config, home);
                if (newDisk is not null) CreateDisk(paths, newDisk, newFormat, spec.NewVhdSizeBytes);
                try { folder = staged.Commit(); }
                catch
                {
                    if (newDisk is not null) File.Delete(newDisk);
                    throw;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw HostErrors.Precondition($"cannot create the VM's folder in {home ?? inventory.VmsDirectory}: {e.Message}");
            }
            var vm = new ManagedVm(folder, config, new VmRuntimeRecord());
            vms.Register(vm);
            lifecycle.Publish(vm, VmChangeKind.Created, $"VM '{name}' created");
            return vm;
        }
    }

    /// <summary>New-VM -NewVHDPath: a dynamic disk of the format its name says, the client's own; a partial file is removed.</summary>
    private static void CreateDisk(RequestPaths paths, string path, DiskFormat format, long capacity)
    {
        try
        {
            VirtualDisk.Create(path, new DiskCreateOptions { Capacity = capacity, Format = format }).Dispose();
            paths.GiveToClient(path);
        }
        catch (Exception e) when (e is IOException or VirtualDiskException or UnauthorizedAccessException or ArgumentException)
        {
            try { File.Delete(path); } catch (IOException) { }
            throw HostErrors.Precondition($"cannot create {path}: {e.Message}");
        }
    }

    /// <summary>
    /// The last checks of a disk being attached, under the attach lock: no VM (this one included) has the file — asked
    /// first, by identity, because a running VM's worker holds its disks locked and opening one would only say "in
    /// use" — then the image opens and passes the checker, then its parents are not written by any VM, nor it a parent
    /// of another VM's disk (when it is to be written).
    /// </summary>
    private void EnsureDiskFree(string parameter, string path, bool readOnly)
    {
        var attached = vms.List(null).SelectMany(vm => vm.Config.Disks.Select(d => new AttachedDisk(vm.Name, d.Path, d.ReadOnly))).ToList();
        if (FileStatus.Of(path) is { } status && _disks.Conflict(new DiskLineage(path, status.Identity, []), readOnly, attached) is { } taken)
            throw HostErrors.Precondition(taken);
        if (DiskImageCheck.Image(path) is { } problem) throw HostErrors.Invalid(parameter, problem);
        DiskLineage lineage;
        try { lineage = _disks.Identify(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or VirtualDiskException or InvalidDataException or NotSupportedException)
        {
            throw HostErrors.Invalid(parameter, $"'{path}': {e.Message}");
        }
        if (_disks.Conflict(lineage, readOnly, attached) is { } conflict) throw HostErrors.Precondition(conflict);
    }

    private void EnsureNameFree(string name, ManagedVm? renamed)
    {
        foreach (var other in vms.List(null))
                if (other != renamed && string.Equals(other.Name, name, StringComparison.OrdinalIgnoreCase))
                    throw HostErrors.AlreadyExists($"a VM named '{other.Name}' already exists (id {other.Id})");
    }

    /// <summary>Set-VM (and Rename-VM): each change checked, then all of them written at once.</summary>
    public ManagedVm Update(ManagedVm vm, VmSettingsChange change, ClientIdentity client)
    {
        var paths = new RequestPaths(access, client);
        using var _ = lifecycle.Begin(vm, "reconfiguring");
        var c = vm.Config;
        if (change.NeedsOff && vm.State != PowerState.Off) throw HostErrors.WrongState(vm.Name, vm.State, "change processors, memory, boot source or backend of");
        if (change.Notes is { } notes) c = c with { Notes = RequestValidation.Notes("notes", notes) };
        if (change.ProcessorCount is { } count) c = c with { Processor = c.Processor with { Count = RequestValidation.Processors("processor_count", count) } };
        if (change.MemoryStartupBytes is { } memory) c = c with { Memory = c.Memory with { StartupBytes = RequestValidation.Memory("memory_startup_bytes", memory) } };
        if (change.AutomaticStartAction is { } start) c = c with { AutomaticStartAction = RequestValidation.Defined("automatic_start_action", start) };
        if (change.AutomaticStartDelaySeconds is { } delay)
            c = c with { AutomaticStartDelaySeconds = RequestValidation.Range("automatic_start_delay_seconds", delay, 0, RequestValidation.MaxStartDelaySeconds, "the automatic start delay in seconds") };
        if (change.AutomaticStopAction is { } stop) c = c with { AutomaticStopAction = RequestValidation.Defined("automatic_stop_action", stop) };
        if (change.CheckpointType is { } checkpoints) c = c with { CheckpointType = RequestValidation.Defined("checkpoint_type", checkpoints) };
        if (change.KernelPath is { } kernel) c = c with { Boot = c.Boot with { KernelPath = paths.Kernel("kernel_path", kernel) ?? "" } };
        if (change.InitrdPath is { } initrd) c = c with { Boot = c.Boot with { InitrdPath = paths.Initrd("initrd_path", initrd) } };
        if ((change.KernelPath is not null || change.InitrdPath is not null || change.MemoryStartupBytes is not null) && c.Boot.KernelPath.Length > 0
            && BootFileCheck.FitsInMemory(c.Boot.KernelPath, c.Boot.InitrdPath, c.Memory.StartupBytes) is { } tooBig)
            throw HostErrors.Invalid(change.MemoryStartupBytes is not null ? "memory_startup_bytes" : change.InitrdPath is not null ? "initrd_path" : "kernel_path", tooBig);
        if (change.KernelCommandLine is { } commandLine) c = c with { Boot = c.Boot with { CommandLine = commandLine } };
        if (change.Backend is { } backend) c = c with { Backend = RequestValidation.Backend("backend", backend) };
        if (change.NewName is { } newName)
        {
            string name = RequestValidation.Name("new_name", newName);
            lock (_names)
            {
                EnsureNameFree(name, vm);
                Commit(vm, c with { Name = name });
            }
        }
        else Commit(vm, c);
        return vm;
    }

    /// <summary>Set-VMProcessor: the count and host resource protection need the VM Off; the limits apply to a running worker at once.</summary>
    public void SetProcessor(ManagedVm vm, ProcessorChange change)
    {
        using var _ = lifecycle.Begin(vm, "reconfiguring");
        var p = vm.Config.Processor;
        if (change.Count is { } count)
        {
            if (vm.State != PowerState.Off) throw HostErrors.WrongState(vm.Name, vm.State, "change the processor count of");
            p = p with { Count = RequestValidation.Processors("count", count) };
        }
        if (change.Maximum is { } maximum) p = p with { Maximum = RequestValidation.Range("maximum", maximum, 1, 100, "the processor maximum (percent)") };
        if (change.Reserve is { } reserve) p = p with { Reserve = Reserve(RequestValidation.Range("reserve", reserve, 0, 100, "the processor reserve (percent)")) };
        if (change.RelativeWeight is { } weight) p = p with { RelativeWeight = RequestValidation.Range("relative_weight", weight, 1, 10000, "the relative weight") };
        if (change.ExposeVirtualizationExtensions is { } nested) p = p with { ExposeVirtualizationExtensions = nested };
        if (change.EnableHostResourceProtection is { } protect && protect != p.EnableHostResourceProtection)
        {
            // The worker builds its device path with or without the protection, as Hyper-V takes it at the VM's start.
            if (vm.State != PowerState.Off) throw HostErrors.WrongState(vm.Name, vm.State, "change host resource protection of");
            p = p with { EnableHostResourceProtection = protect };
        }
        Commit(vm, vm.Config with { Processor = p });
        if (vm.WorkerPid > 0) cgroup.Place(vm.WorkerPid, vm.Config); // new limits apply to a running worker at once
    }

    /// <summary>
    /// Set-VMProcessor -Reserve: only 0. Linux's scheduler gives a cgroup a share under contention (cpu.weight, our
    /// RelativeWeight) and a cap (cpu.max, our Maximum), but nothing that guarantees a group processor time whatever the
    /// other groups' weights are; a reserve stored and not honoured would mislead, so it is refused with what to use.
    /// </summary>
    private static int Reserve(int percent) => percent == 0 ? 0 : throw HostErrors.Precondition(
        $"Reserve {percent} %: this host cannot set processor time aside for a virtual machine (Linux's scheduler gives cgroups shares and caps, "
        + "not reservations); use -RelativeWeight for a larger share when processors are contended, and -Reserve 0");

    /// <summary>Remove-VM: the VM's folder goes; a VM that runs is refused unless <paramref name="force"/> turns it off first.</summary>
    public async Task RemoveAsync(ManagedVm vm, bool force, CancellationToken cancellationToken)
    {
        using var _ = lifecycle.Begin(vm, "removing");
        if (vm.Damage is not null)
        {
            // A folder the host could not read: its entry goes, nothing else of it is known.
            vms.Unregister(vm);
            vm.MarkRemoved();
            inventory.Remove(vm.Folder);
            lifecycle.Publish(vm, VmChangeKind.Removed, $"damaged VM folder {vm.Folder.Path} removed");
            return;
        }
        if (vm.State is not (PowerState.Off or PowerState.Saved))
        {
            if (!force) throw HostErrors.WrongState(vm.Name, vm.State, "remove (turn it off first, or use --force)");
            await lifecycle.TurnOffAsync(vm, cancellationToken).ConfigureAwait(false);
        }
        vm.MarkRemoved();
        vms.Unregister(vm);
        inventory.Remove(vm.Folder);
        vms.Networking.ReleaseMacs(vm);
        lifecycle.Publish(vm, VmChangeKind.Removed, $"VM '{vm.Name}' removed");
    }

    /// <summary>Add-VMHardDiskDrive: the disk checked for <paramref name="client"/> and free of other VMs, hot-plugged into a running VM (SCSI).</summary>
    public async Task<DiskSettings> AddDiskAsync(ManagedVm vm, NewDiskDrive drive, ClientIdentity client, CancellationToken cancellationToken)
    {
        string path = new RequestPaths(access, client).Disk("path", drive.Path, drive.ReadOnly);
        var type = drive.ControllerType == ControllerType.Unspecified ? ControllerType.Scsi : RequestValidation.Defined("controller_type", drive.ControllerType);
        int number = drive.ControllerNumber;
        using var _ = lifecycle.Begin(vm, "changing the disks of");
        var disks = vm.Config.Disks;
        int location = drive.ControllerLocation ?? FirstFreeLocation(disks, type, number);
        RequestValidation.DiskLocation(type, number, location);
        if (type == ControllerType.Scsi) VmScsiControllers.Require(vm, number);
        if (disks.Any(d => d.ControllerType == type && d.ControllerNumber == number && d.ControllerLocation == location))
            throw HostErrors.AlreadyExists($"VM '{vm.Name}' already has a drive on {type} controller {number} at location {location}");
        using var attaching = await _disks.EnterAsync(cancellationToken).ConfigureAwait(false);
        EnsureDiskFree("path", path, drive.ReadOnly);
        var disk = new DiskSettings { ControllerType = type, ControllerNumber = number, ControllerLocation = location, Path = path, ReadOnly = drive.ReadOnly };
        await ChangeDisksLiveAsync(vm, disk, WorkerOps.AddDisk, cancellationToken).ConfigureAwait(false);
        Commit(vm, vm.Config with { Disks = [.. disks, disk] });
        return disk;
    }

    /// <summary>Remove-VMHardDiskDrive: the drive at <paramref name="where"/>, hot-unplugged from a running VM (SCSI).</summary>
    public async Task RemoveDiskAsync(ManagedVm vm, DriveLocation where, CancellationToken cancellationToken)
    {
        using var _ = lifecycle.Begin(vm, "changing the disks of");
        var type = where.ControllerType == ControllerType.Unspecified ? ControllerType.Scsi : where.ControllerType;
        var disk = vm.Config.Disks.FirstOrDefault(d => d.ControllerType == type && d.ControllerNumber == where.ControllerNumber && d.ControllerLocation == where.ControllerLocation)
            ?? throw HostErrors.NotFound($"VM '{vm.Name}' has no drive on {type} controller {where.ControllerNumber} at location {where.ControllerLocation}");
        await ChangeDisksLiveAsync(vm, disk, WorkerOps.RemoveDisk, cancellationToken).ConfigureAwait(false);
        Commit(vm, vm.Config with { Disks = vm.Config.Disks.Where(d => d != disk).ToList() });
    }

    /// <summary>
    /// Set-VMHardDiskDrive's Storage QoS: checked (not negative, a maximum not below the minimum), given to a running or
    /// paused VM's worker at once, then recorded. A VM in another state (starting, saving) is refused: its worker could
    /// miss the change.
    /// </summary>
    public async Task<DiskSettings> SetDiskQosAsync(ManagedVm vm, DriveLocation where, DriveQosChange change, CancellationToken cancellationToken)
    {
        using var _ = lifecycle.Begin(vm, "changing the disks of");
        var type = where.ControllerType == ControllerType.Unspecified ? ControllerType.Scsi : where.ControllerType;
        var disk = vm.Config.Disks.FirstOrDefault(d => d.ControllerType == type && d.ControllerNumber == where.ControllerNumber && d.ControllerLocation == where.ControllerLocation)
            ?? throw HostErrors.NotFound($"VM '{vm.Name}' has no drive on {type} controller {where.ControllerNumber} at location {where.ControllerLocation}");
        var changed = disk with { MaximumIops = change.MaximumIops ?? disk.MaximumIops, MinimumIops = change.MinimumIops ?? disk.MinimumIops };
        RequestValidation.StorageQos(changed.MaximumIops, changed.MinimumIops);
        if (changed == disk) return disk;
        if (vm.State is PowerState.Running or PowerState.Paused)
            await lifecycle.AskAsync(vm, WorkerOps.SetDiskQos, cancellationToken, changed).ConfigureAwait(false);
        else if (vm.State is not (PowerState.Off or PowerState.Saved))
            throw HostErrors.WrongState(vm.Name, vm.State, "change the Storage QoS of a drive of");
        Commit(vm, vm.Config with { Disks = vm.Config.Disks.Select(d => d == disk ? changed : d).ToList() });
        return changed;
    }

    /// <summary>IDE drives change only while the VM is Off; SCSI drives also while it runs (the worker hot-plugs them).</summary>
    private async Task ChangeDisksLiveAsync(ManagedVm vm, DiskSettings disk, string op, CancellationToken cancellationToken)
    {
        if (vm.State == PowerState.Off) return;
        if (disk.ControllerType == ControllerType.Ide || vm.State is not (PowerState.Running or PowerState.Paused))
            throw HostErrors.WrongState(vm.Name, vm.State, $"change an {disk.ControllerType} drive of");
        await lifecycle.AskAsync(vm, op, cancellationToken, disk).ConfigureAwait(false);
    }

    private static int FirstFreeLocation(List<DiskSettings> disks, ControllerType type, int number)
    {
        int location = 0;
        while (disks.Any(d => d.ControllerType == type && d.ControllerNumber == number && d.ControllerLocation == location)) location++;
        return location;
    }

    /// <summary>Writes the new configuration (atomically), then makes it the live one and says so.</summary>
    public void Commit(ManagedVm vm, VmConfiguration config)
    {
        try { VmInventory.Save(vm.Folder, config); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw HostErrors.Internal($"cannot write the configuration of VM '{vm.Name}': {e.Message}");
        }
        vm.Config = config;
        lifecycle.Publish(vm, VmChangeKind.ConfigurationChanged, "configuration changed");
    }
}
