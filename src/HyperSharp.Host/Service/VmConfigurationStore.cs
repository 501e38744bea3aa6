using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
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

    public ManagedVm Create(CreateVmRequest request, ClientIdentity client)
    {
        var paths = new RequestPaths(access, client);
        string name = RequestValidation.Name("name", request.Name);
        int generation = RequestValidation.Generation("generation", request.Generation == 0 ? 2 : request.Generation);
        // Absent means the default; 0, like any value out of range, is refused as Set-VM refuses it.
        long memory = RequestValidation.Memory("memory_startup_bytes", request.HasMemoryStartupBytes ? request.MemoryStartupBytes : DefaultMemoryBytes);
        int processors = RequestValidation.Processors("processor_count", request.HasProcessorCount ? request.ProcessorCount : 1);
        string backend = RequestValidation.Backend("backend", request.Backend);
        string notes = RequestValidation.Notes("notes", request.Notes);
        string? kernel = paths.Kernel("boot.kernel_path", request.Boot?.KernelPath), initrd = paths.Initrd("boot.initrd_path", request.Boot?.InitrdPath);
        if (kernel is not null && BootFileCheck.FitsInMemory(kernel, initrd, memory) is { } tooBig) throw HostErrors.Invalid("memory_startup_bytes", tooBig);
        var boot = new BootSettings
        {
            KernelPath = kernel ?? "", InitrdPath = initrd,
            CommandLine = string.IsNullOrEmpty(request.Boot?.KernelCommandLine) ? "console=ttyS0" : request.Boot.KernelCommandLine,
        };
        string? home = string.IsNullOrEmpty(request.Path) ? null : paths.VmHome("path", request.Path);
        if (!string.IsNullOrEmpty(request.VhdPath) && !string.IsNullOrEmpty(request.NewVhdPath))
            throw HostErrors.Invalid("new_vhd_path", "give either vhd_path (an existing disk) or new_vhd_path (a new one), not both");
        string? disk = string.IsNullOrEmpty(request.VhdPath) ? null : paths.Disk("vhd_path", request.VhdPath, readOnly: false);
        string? newDisk = null;
        var newFormat = DiskFormat.Vhdx;
        if (!string.IsNullOrEmpty(request.NewVhdPath))
        {
            newDisk = paths.NewFile("new_vhd_path", request.NewVhdPath);
            newFormat = VirtualDisk.FormatFromExtension(newDisk);
            if (newFormat == DiskFormat.Raw) throw HostErrors.Invalid("new_vhd_path", $"'{newDisk}' must end in .vhdx or .vhd: New-VM makes a dynamic disk of the format its name says");
            if (request.NewVhdSizeBytes is < MinNewVhdBytes or > MaxNewVhdBytes)
                throw HostErrors.Invalid("new_vhd_size_bytes", $"{request.NewVhdSizeBytes} bytes: a new disk must be from 3 MiB to 64 TiB");
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
                if (newDisk is not null) CreateDisk(paths, newDisk, newFormat, request.NewVhdSizeBytes);
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
            lifecycle.Publish(vm, VmEventKind.Created, $"VM '{name}' created");
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

    public ManagedVm Update(UpdateVmRequest request, ClientIdentity client)
    {
        var paths = new RequestPaths(access, client);
        var vm = vms.Find(request.Vm);
        using var _ = lifecycle.Begin(vm, "reconfiguring");
        var c = vm.Config;
        bool needsOff = request.HasProcessorCount || request.HasMemoryStartupBytes || request.HasKernelPath || request.HasInitrdPath
            || request.HasKernelCommandLine || request.HasBackend;
        if (needsOff && vm.State != VmState.Off) throw HostErrors.WrongState(vm.Name, vm.State, "change processors, memory, boot source or backend of");
        if (request.HasNotes) c = c with { Notes = RequestValidation.Notes("notes", request.Notes) };
        if (request.HasProcessorCount) c = c with { Processor = c.Processor with { Count = RequestValidation.Processors("processor_count", request.ProcessorCount) } };
        if (request.HasMemoryStartupBytes) c = c with { Memory = c.Memory with { StartupBytes = RequestValidation.Memory("memory_startup_bytes", request.MemoryStartupBytes) } };
        if (request.HasAutomaticStartAction) c = c with { AutomaticStartAction = RequestValidation.Defined("automatic_start_action", request.AutomaticStartAction) };
        if (request.HasAutomaticStartDelaySeconds)
            c = c with { AutomaticStartDelaySeconds = RequestValidation.Range("automatic_start_delay_seconds", request.AutomaticStartDelaySeconds, 0, RequestValidation.MaxStartDelaySeconds, "the automatic start delay in seconds") };
        if (request.HasAutomaticStopAction) c = c with { AutomaticStopAction = RequestValidation.Defined("automatic_stop_action", request.AutomaticStopAction) };
        if (request.HasCheckpointType) c = c with { CheckpointType = RequestValidation.Defined("checkpoint_type", request.CheckpointType) };
        if (request.HasKernelPath) c = c with { Boot = c.Boot with { KernelPath = paths.Kernel("kernel_path", request.KernelPath) ?? "" } };
        if (request.HasInitrdPath) c = c with { Boot = c.Boot with { InitrdPath = paths.Initrd("initrd_path", request.InitrdPath) } };
        if ((request.HasKernelPath || request.HasInitrdPath || request.HasMemoryStartupBytes) && c.Boot.KernelPath.Length > 0
            && BootFileCheck.FitsInMemory(c.Boot.KernelPath, c.Boot.InitrdPath, c.Memory.StartupBytes) is { } tooBig)
            throw HostErrors.Invalid(request.HasMemoryStartupBytes ? "memory_startup_bytes" : request.HasInitrdPath ? "initrd_path" : "kernel_path", tooBig);
        if (request.HasKernelCommandLine) c = c with { Boot = c.Boot with { CommandLine = request.KernelCommandLine } };
        if (request.HasBackend) c = c with { Backend = RequestValidation.Backend("backend", request.Backend) };
        if (request.HasNewName)
        {
            string name = RequestValidation.Name("new_name", request.NewName);
            lock (_names)
            {
                EnsureNameFree(name, vm);
                Commit(vm, c with { Name = name });
            }
        }
        else Commit(vm, c);
        return vm;
    }

    public VmProcessor SetProcessor(SetProcessorRequest request)
    {
        var vm = vms.Find(request.Vm);
        using var _ = lifecycle.Begin(vm, "reconfiguring");
        var p = vm.Config.Processor;
        if (request.HasCount)
        {
            if (vm.State != VmState.Off) throw HostErrors.WrongState(vm.Name, vm.State, "change the processor count of");
            p = p with { Count = RequestValidation.Processors("count", request.Count) };
        }
        if (request.HasMaximum) p = p with { Maximum = RequestValidation.Range("maximum", request.Maximum, 1, 100, "the processor maximum (percent)") };
        if (request.HasReserve) p = p with { Reserve = RequestValidation.Range("reserve", request.Reserve, 0, 100, "the processor reserve (percent)") };
        if (request.HasRelativeWeight) p = p with { RelativeWeight = RequestValidation.Range("relative_weight", request.RelativeWeight, 1, 10000, "the relative weight") };
        if (request.HasExposeVirtualizationExtensions) p = p with { ExposeVirtualizationExtensions = request.ExposeVirtualizationExtensions };
        Commit(vm, vm.Config with { Processor = p });
        if (vm.WorkerPid > 0) cgroup.Place(vm.WorkerPid, vm.Config); // new limits apply to a running worker at once
        return VmProjection.Processor(vm);
    }

    public async Task RemoveAsync(RemoveVmRequest request, CancellationToken cancellationToken)
    {
        var vm = vms.Find(request.Vm);
        using var _ = lifecycle.Begin(vm, "removing");
        if (vm.Damage is not null)
        {
            // A folder the host could not read: its entry goes, nothing else of it is known.
            vms.Unregister(vm);
            lock (vm.Sync) vm.Removed = true;
            inventory.Remove(vm.Folder);
            lifecycle.Publish(vm, VmEventKind.Removed, $"damaged VM folder {vm.Folder.Path} removed");
            return;
        }
        if (vm.State is not (VmState.Off or VmState.Saved))
        {
            if (!request.Force) throw HostErrors.WrongState(vm.Name, vm.State, "remove (turn it off first, or use --force)");
            await lifecycle.TurnOffAsync(vm, cancellationToken).ConfigureAwait(false);
        }
        lock (vm.Sync) vm.Removed = true;
        vms.Unregister(vm);
        inventory.Remove(vm.Folder);
        vms.Networking.ReleaseMacs(vm);
        lifecycle.Publish(vm, VmEventKind.Removed, $"VM '{vm.Name}' removed");
    }

    public async Task<HardDiskDrive> AddDiskAsync(AddHardDiskDriveRequest request, ClientIdentity client, CancellationToken cancellationToken)
    {
        var vm = vms.Find(request.Vm);
        string path = new RequestPaths(access, client).Disk("path", request.Path, request.ReadOnly);
        var type = request.ControllerType == ControllerType.Unspecified ? ControllerType.Scsi : RequestValidation.Defined("controller_type", request.ControllerType);
        using var _ = lifecycle.Begin(vm, "changing the disks of");
        var disks = vm.Config.Disks;
        int location = request.HasControllerLocation ? request.ControllerLocation : FirstFreeLocation(disks, type, request.ControllerNumber);
        RequestValidation.DiskLocation(type, request.ControllerNumber, location);
        if (disks.Any(d => d.ControllerType == type && d.ControllerNumber == request.ControllerNumber && d.ControllerLocation == location))
            throw HostErrors.AlreadyExists($"VM '{vm.Name}' already has a drive on {type} controller {request.ControllerNumber} at location {location}");
        using var attaching = await _disks.EnterAsync(cancellationToken).ConfigureAwait(false);
        EnsureDiskFree("path", path, request.ReadOnly);
        var disk = new DiskSettings { ControllerType = type, ControllerNumber = request.ControllerNumber, ControllerLocation = location, Path = path, ReadOnly = request.ReadOnly };
        await ChangeDisksLiveAsync(vm, disk, WorkerOps.AddDisk, cancellationToken).ConfigureAwait(false);
        Commit(vm, vm.Config with { Disks = [.. disks, disk] });
        return VmProjection.Drive(vm, disk);
    }

    public async Task RemoveDiskAsync(RemoveHardDiskDriveRequest request, CancellationToken cancellationToken)
    {
        var vm = vms.Find(request.Vm);
        using var _ = lifecycle.Begin(vm, "changing the disks of");
        var type = request.ControllerType == ControllerType.Unspecified ? ControllerType.Scsi : request.ControllerType;
        var disk = vm.Config.Disks.FirstOrDefault(d => d.ControllerType == type && d.ControllerNumber == request.ControllerNumber && d.ControllerLocation == request.ControllerLocation)
            ?? throw HostErrors.NotFound($"VM '{vm.Name}' has no drive on {type} controller {request.ControllerNumber} at location {request.ControllerLocation}");
        await ChangeDisksLiveAsync(vm, disk, WorkerOps.RemoveDisk, cancellationToken).ConfigureAwait(false);
        Commit(vm, vm.Config with { Disks = vm.Config.Disks.Where(d => d != disk).ToList() });
    }

    /// <summary>IDE drives change only while the VM is Off; SCSI drives also while it runs (the worker hot-plugs them).</summary>
    private async Task ChangeDisksLiveAsync(ManagedVm vm, DiskSettings disk, string op, CancellationToken cancellationToken)
    {
        if (vm.State == VmState.Off) return;
        if (disk.ControllerType == ControllerType.Ide || vm.State is not (VmState.Running or VmState.Paused))
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
        lifecycle.Publish(vm, VmEventKind.ConfigurationChanged, "configuration changed");
    }
}
