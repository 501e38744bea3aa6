using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Machine;

namespace HyperSharp.Worker;

/// <summary>
/// Turns a stored VM configuration into the machine's <see cref="VmConfig"/>: IDE drives on virtio-blk, by controller
/// and location; SCSI drives on virtio-scsi, controller number N the N-th controller and the location its LUN; then the
/// network adapters as the worker holds them (with their switch ports). Memory that can
/// change while the VM runs (dynamic, or runtime resize) brings a balloon and hot-add memory up to
/// <see cref="MemorySettings.HotAddBytes"/> above the startup memory.
/// </summary>
public static class MachineConfiguration
{
    public static VmConfig From(VmConfiguration config, Action<byte> console, Action<string> log, IReadOnlyList<NetworkAdapterAttachment>? adapters = null,
        string? vsockSocket = null) => new()
    {
        Processors = config.Processor.Count,
        ProcessorVendor = config.Processor.Vendor,
        ExposeVirtualizationExtensions = config.Processor.ExposeVirtualizationExtensions,
        MemorySize = (ulong)config.Memory.StartupBytes,
        KernelPath = config.Boot.KernelPath,
        InitrdPath = string.IsNullOrEmpty(config.Boot.InitrdPath) ? null : config.Boot.InitrdPath,
        CommandLine = config.Boot.CommandLine,
        // IDE drives stay on virtio-blk: there is no IDE controller to emulate, they never come or go while the VM runs
        // (Hyper-V's rule too), and a virtio-blk disk is the shortest path a boot disk can take — no SCSI layer in the guest.
        Firmware = config.Boot.Firmware == BootFirmware.Bios ? new HyperSharp.Machine.Firmware.VmFirmware(HyperSharp.Machine.Firmware.VmFirmware.SeaBios) : null,
        Disks = [.. config.Disks
            .Where(d => d.ControllerType == ControllerType.Ide)
            .OrderBy(d => d.ControllerNumber).ThenBy(d => d.ControllerLocation)
            .Select(d => new DiskAttachment(d.Path, d.ReadOnly) { Label = d.DriveName() })],
        ScsiControllers = ScsiControllers(config),
        NetworkAdapters = adapters ?? [],
        RuntimeMemory = RuntimeMemory(config.Memory),
        Vsock = vsockSocket is null ? null : new VsockAttachment(vsockSocket, GuestCid(config.Id)),
        ConsoleOutput = console,
        Log = log,
    };

    /// <summary>The SCSI controllers (see <see cref="VmConfiguration.ScsiControllerCount"/>), each drive at its location, named as the host names it.</summary>
    private static ScsiControllerAttachment[] ScsiControllers(VmConfiguration config)
    {
        var scsi = config.Disks.Where(d => d.ControllerType == ControllerType.Scsi).ToList();
        return [.. Enumerable.Range(0, config.ScsiControllerCount()).Select(n => new ScsiControllerAttachment
        {
            Disks = [.. scsi.Where(d => d.ControllerNumber == n).OrderBy(d => d.ControllerLocation)
                .Select(d => new ScsiDiskAttachment(d.Path, d.ControllerLocation, d.ReadOnly) { Label = d.DriveName() })],
        })];
    }

    /// <summary>
    /// The VM's vsock context ID, from its ID: the same on every start, and (but for one chance in four billion) not
    /// another VM's, so a guest's CID names its VM in logs. 0-2 are reserved and 2^32-1 is "any".
    /// </summary>
    public static ulong GuestCid(Guid id) => 3 + BitConverter.ToUInt32(id.ToByteArray(), 0) % (uint.MaxValue - 3);

    /// <summary>
    /// The machine a guest reset rebuilds once its memory was resized while it ran: it boots with the memory it has
    /// (<paramref name="bytes"/>, what the host recorded as its startup memory) and the hot-add room of that size, as a
    /// start would give it; unchanged when the memory is what it booted with.
    /// </summary>
    public static VmConfig WithMemory(VmConfig machine, MemorySettings settings, ulong bytes) => bytes == machine.MemorySize || machine.RuntimeMemory is null
        ? machine
        : machine with { MemorySize = bytes, RuntimeMemory = RuntimeMemory(settings with { StartupBytes = (long)bytes }) };

    /// <summary>
    /// The balloon and hot-add memory of a resizable VM. Deflate on OOM only with dynamic memory: there the guest may take
    /// memory back under pressure before a balancer would give it; static memory is what the administrator set, and a
    /// balloon that shrinks it shows in the guest's MemTotal rather than as memory it can reclaim unasked.
    /// </summary>
    private static RuntimeMemoryAttachment? RuntimeMemory(MemorySettings memory) => memory.Resizable()
        ? new RuntimeMemoryAttachment { MaximumSize = (ulong)(memory.StartupBytes + memory.HotAddBytes()), DeflateOnOutOfMemory = memory.DynamicMemoryEnabled }
        : null;
}
