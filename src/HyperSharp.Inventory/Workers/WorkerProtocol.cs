using System.Text.Json;
using System.Text.Json.Serialization;

namespace HyperSharp.Inventory.Workers;

/// <summary>
/// The control protocol between the host and one worker, on the worker's Unix socket (worker.sock in the
/// VM folder): the host sends one JSON line, the worker answers one JSON line. After a "console" request
/// the connection carries the raw serial console both ways until either side closes it. A request with
/// <see cref="WorkerRequest.Descriptor"/> set is followed by one byte that carries a file descriptor (SCM_RIGHTS):
/// the worker's end of a switch port. A protocol this
/// small keeps the worker free of a web server; only the host speaks gRPC.
/// </summary>
public static class WorkerOps
{
    public const string Status = "status", Pause = "pause", Resume = "resume", Save = "save", Shutdown = "shutdown",
        TurnOff = "turn-off", Reset = "reset", Console = "console", AddDisk = "add-disk", RemoveDisk = "remove-disk",
        AddNic = "add-nic", RemoveNic = "remove-nic", ConnectNic = "connect-nic", DisconnectNic = "disconnect-nic", LabelNic = "label-nic";
}

public sealed record WorkerRequest
{
    public required string Op { get; init; }
    /// <summary>add-disk: the image; remove-disk: the image to detach.</summary>
    public string? Path { get; init; }
    public bool ReadOnly { get; init; }
    /// <summary>add-disk, add-nic, label-nic: the PCI slot label the guest sees (the drive's or adapter's name).</summary>
    public string? Label { get; init; }
    /// <summary>The *-nic requests: the adapter's id.</summary>
    public Guid? Adapter { get; init; }
    /// <summary>add-nic: the adapter's MAC address.</summary>
    public string? Mac { get; init; }
    /// <summary>A byte carrying a descriptor (the adapter's switch-port socket) follows the request line.</summary>
    public bool Descriptor { get; init; }
}

/// <summary>A network adapter as the worker has it: where it sits and whether a switch port is plugged in.</summary>
public sealed record WorkerAdapterStatus(Guid Id, int? Slot, bool LinkUp);

public sealed record WorkerResponse
{
    public bool Ok { get; init; }
    public string? Error { get; init; }
    /// <summary>The worker's own PID (the host may have launched it through a shell and setsid).</summary>
    public int Pid { get; init; }
    /// <summary>False while the VM is still being built or restored.</summary>
    public bool Running { get; init; }
    public bool Paused { get; init; }
    public long UptimeMs { get; init; }
    public long MemoryTouchedBytes { get; init; }
    public string? Backend { get; init; }
    public List<WorkerAdapterStatus> Adapters { get; init; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(WorkerRequest))]
[JsonSerializable(typeof(WorkerResponse))]
public sealed partial class WorkerJson : JsonSerializerContext
{
    public static string Line<T>(T value) => JsonSerializer.Serialize(value, typeof(T), Default) + "\n";

    public static T Parse<T>(string line) => (T)(JsonSerializer.Deserialize(line, typeof(T), Default)
        ?? throw new InvalidDataException("empty message on the worker socket"));
}
