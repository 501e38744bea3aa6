using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.State;

/// <summary>
/// Everything a saved VM is besides its memory: the backend it ran on, its configuration, the backend's platform
/// record, one record per vCPU and one per device (keyed by device id), each a versioned <see cref="SavedRecord"/>.
/// <see cref="VmStateFile"/> writes it and guest memory as one file of checksummed records.
/// </summary>
public sealed record VmSavedState(string Backend, SavedVmConfig Config, SavedRecord Platform, SavedRecord[] Processors,
    IReadOnlyList<(string Id, SavedRecord Record)> Devices)
{
    /// <summary>The machine record (backend and configuration) this build writes: 2 added the runtime memory devices, 3 the SCSI disks' drive names.</summary>
    internal const ushort MachineRecordVersion = 3;

    /// <summary>The devices' records by id.</summary>
    public Dictionary<string, SavedRecord> DevicesById()
    {
        var byId = new Dictionary<string, SavedRecord>(StringComparer.Ordinal);
        foreach (var (id, record) in Devices) byId[id] = record;
        return byId;
    }

    /// <summary>How errors name the record of processor <paramref name="index"/>.</summary>
    public static string ProcessorRecordName(int index) => $"processor {index}";

    internal const string MachineRecordName = "machine";
    internal const string PlatformRecordName = "platform";
}
