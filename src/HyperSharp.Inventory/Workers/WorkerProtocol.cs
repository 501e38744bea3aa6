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
/// <para>
/// "attach" makes a connection the worker's report channel: it carries the adapters' labels and switch ports (one
/// descriptor byte per adapter with <see cref="WorkerAdapterPlug.Port"/>, in order), and the worker answers with
/// <see cref="WorkerReport"/> lines from then on — "ready" once the VM runs, its state changes, "exited" at its end —
/// until the process ends (the connection's end is the host's sign that it has). A launched worker connects to the
/// socket the host named on its command line and is attached there before it builds the VM; a host that restarts
/// attaches on worker.sock, and the worker reports to the newest host.
/// </para>
/// </summary>
public static class WorkerOps
{
    public const string Status = "status", Pause = "pause", Resume = "resume", Save = "save", Shutdown = "shutdown",
        TurnOff = "turn-off", Reset = "reset", Console = "console", AddDisk = "add-disk", RemoveDisk = "remove-disk",
        AddNic = "add-nic", RemoveNic = "remove-nic", ConnectNic = "connect-nic", DisconnectNic = "disconnect-nic", LabelNic = "label-nic",
        Attach = "attach", SetMemory = "set-memory", Checkpoint = "checkpoint";

    /// <summary>Live migration (issue 15): send the running VM to the destination worker named in the request; answered once the destination owns it (or it failed).</summary>
    public const string Migrate = "migrate";
    /// <summary>Integration services: ask the guest's agent for a clean shutdown; copy a host file into the guest (Copy-VMFile).</summary>
    public const string GuestShutdown = "guest-shutdown", CopyFile = "copy-file";
    /// <summary>Runs a command in the guest (<see cref="WorkerRequest.Arguments"/>); after the answer the connection carries <see cref="ExecFrames"/>.</summary>
    public const string Exec = "exec";
    /// <summary>The VM's integration services changed while it runs (<see cref="WorkerRequest.IntegrationServices"/>).</summary>
    public const string SetIntegration = "set-integration";
    /// <summary>Storage QoS of the drive named by <see cref="WorkerRequest.Label"/> (<see cref="WorkerRequest.MaximumIops"/>, <see cref="WorkerRequest.MinimumIops"/>).</summary>
    public const string SetDiskQos = "set-disk-qos";
    /// <summary>Get-VHD / Resize-VHD of a disk the running VM has open (<see cref="WorkerRequest.Path"/>; resize to <see cref="WorkerRequest.SizeBytes"/>): answered with <see cref="WorkerResponse.Disk"/>.</summary>
    public const string DescribeDisk = "describe-disk", ResizeDisk = "resize-disk";
}

public sealed record WorkerRequest
{
    public required string Op { get; init; }
    /// <summary>add-disk: the image; remove-disk: the image to detach.</summary>
    public string? Path { get; init; }
    public bool ReadOnly { get; init; }
    /// <summary>add-disk, add-nic, label-nic: the PCI slot label the guest sees (the drive's or adapter's name); null for an adapter without device naming: no label.</summary>
    public string? Label { get; init; }
    /// <summary>The *-nic requests: the adapter's id.</summary>
    public Guid? Adapter { get; init; }
    /// <summary>add-nic: the adapter's MAC address.</summary>
    public string? Mac { get; init; }
    /// <summary>A byte carrying a descriptor (the adapter's switch-port socket) follows the request line.</summary>
    public bool Descriptor { get; init; }
    /// <summary>set-memory: the memory the running guest is to have (hot-add above its boot size, the balloon below).</summary>
    public long MemoryBytes { get; init; }
    /// <summary>set-memory: how long the worker waits for the guest before it answers with what the guest did.</summary>
    public int WaitMs { get; init; }
    /// <summary>checkpoint: each disk image to switch and the new differencing child it goes on in (the state goes to <see cref="Path"/>).</summary>
    public Dictionary<string, string>? Children { get; init; }
    /// <summary>checkpoint: a production one — the guest's agent freezes its file systems around it, and no state is written (<see cref="Path"/> unset).</summary>
    public bool Freeze { get; init; }
    /// <summary>attach: every adapter's label, and which of them get a switch port (a descriptor byte each follows the line).</summary>
    public List<WorkerAdapterPlug>? Plugs { get; init; }
    /// <summary>attach: the folder of a newer guest agent the worker offers to an older one (null: none).</summary>
    public string? AgentUpdateFolder { get; init; }
    /// <summary>attach: the host's activation key (PEM) the worker signs its guest's activation with (null: none).</summary>
    public string? ActivationKeyFile { get; init; }

    // migrate: where the destination worker listens (TLS), the name its certificate must carry, the trust files, and whether to compress.
    public string? MigrateHost { get; init; }
    public int MigratePort { get; init; }
    public string? TlsDirectory { get; init; }
    public bool Compress { get; init; }
    /// <summary>copy-file: where the file goes in the guest (<see cref="Path"/> is the host's file); guest-shutdown: the reason.</summary>
    public string? Destination { get; init; }
    /// <summary>copy-file: make the destination's missing folders; replace a file already there.</summary>
    public bool CreateFullPath { get; init; }
    public bool Force { get; init; }
    /// <summary>exec: the command and its arguments.</summary>
    public List<string>? Arguments { get; init; }
    /// <summary>exec: the guest account to run it as and its password (PowerShell Direct -Credential), checked by the agent; null for the agent's own.</summary>
    public string? User { get; init; }
    public string? Password { get; init; }
    /// <summary>set-integration: the services as the VM's configuration now has them.</summary>
    public IntegrationServiceSettings? IntegrationServices { get; init; }
    /// <summary>add-disk, set-disk-qos: the drive's Storage QoS in normalized IOPS, 0 for none.</summary>
    public long MaximumIops { get; init; }
    public long MinimumIops { get; init; }
    /// <summary>resize-disk: the capacity the attached disk named by <see cref="Path"/> is to have.</summary>
    public long SizeBytes { get; init; }
    /// <summary>add-disk, remove-disk: the drive as the configuration has it — a SCSI drive goes on its controller's LUN, an IDE one on virtio-blk.</summary>
    public DiskSettings? Drive { get; init; }
}

/// <summary>An adapter as the host attaches it: its label (the name the guest sees; null with device naming off) and whether a switch-port descriptor comes for it.</summary>
public sealed record WorkerAdapterPlug(Guid Id, string? Label, bool Port);

/// <summary>What a worker tells the host on its report channel, one JSON line each.</summary>
public static class WorkerReportKinds
{
    /// <summary>The VM is built (or restored) and runs; <see cref="WorkerReport.Status"/> says how.</summary>
    public const string Ready = "ready";
    public const string Paused = "paused", Resumed = "resumed";
    /// <summary>The guest reset and the worker rebuilt the machine.</summary>
    public const string Reset = "reset";
    /// <summary>The worker is ending: <see cref="WorkerReport.Reason"/> and <see cref="WorkerReport.Saved"/> say how (also in exit.json).</summary>
    public const string Exited = "exited";

    /// <summary>A worker launched to take a VM by live migration listens for the source on <see cref="WorkerReport.Port"/>.</summary>
    public const string Listening = "listening";
    /// <summary>A live migration out of this worker has got <see cref="WorkerReport.Percent"/> of the way.</summary>
    public const string Migrating = "migrating";
    /// <summary>The guest agent's state changed: <see cref="WorkerReport.Integration"/> holds it whole.</summary>
    public const string Integration = "integration";
    /// <summary>Host resource protection started holding the VM back: <see cref="WorkerReport.Reason"/> says how.</summary>
    public const string Throttled = "throttled";
}

public sealed record WorkerReport
{
    public required string Kind { get; init; }
    public WorkerResponse? Status { get; init; }
    public string? Reason { get; init; }
    public bool Saved { get; init; }
    /// <summary>listening: the TCP port; migrating: the percent done.</summary>
    public int Port { get; init; }
    public int Percent { get; init; }
    public GuestIntegrationStatus? Integration { get; init; }
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
    /// <summary>The memory the guest has: boot RAM plus hot-added memory, less what its balloon holds (Get-VM's MemoryAssigned).</summary>
    public long MemoryAssignedBytes { get; init; }
    /// <summary>The guest's own count of memory in use (total less available, from its balloon statistics); 0 before it reports.</summary>
    public long MemoryDemandBytes { get; init; }
    /// <summary>set-memory: bytes of the resize the guest did not carry out in the wait (withdrawn; 0 when it did it all).</summary>
    public long MemoryShortBytes { get; init; }
    public string? Backend { get; init; }
    public List<WorkerAdapterStatus> Adapters { get; init; } = [];
    /// <summary>migrate: the handover is in doubt (Commit sent, no word back): the VM stays paused here, never resumed by this worker.</summary>
    public bool MigrationInDoubt { get; init; }
    /// <summary>migrate: the engine's account of a finished migration (rounds, bytes, total time and downtime).</summary>
    public string? MigrationSummary { get; init; }
    public double MigrationTotalMs { get; init; }
    public double MigrationDowntimeMs { get; init; }
    /// <summary>checkpoint: how long the guest was stopped for it, in milliseconds.</summary>
    public double PauseMs { get; init; }
    /// <summary>checkpoint with freeze: why the guest was not frozen (nothing was taken then); null when it was.</summary>
    public string? FreezeRefused { get; init; }
    /// <summary>checkpoint with freeze: the guest's mount points in the order its agent froze them.</summary>
    public List<string>? FrozenMounts { get; init; }
    /// <summary>describe-disk, resize-disk: the disk as the worker has it open now (its live size).</summary>
    public HyperSharp.Vhdx.Operations.DiskInfo? Disk { get; init; }
    /// <summary>checkpoint with freeze: from the agent's word that all is frozen to its word that all is thawed, in milliseconds.</summary>
    public double FrozenMs { get; init; }
    /// <summary>checkpoint with freeze: the thaw failed or was not answered (the agent's own timeout thaws then).</summary>
    public string? ThawProblem { get; init; }
    /// <summary>The guest agent as the worker knows it now (null from a worker without integration services).</summary>
    public GuestIntegrationStatus? Integration { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(WorkerRequest))]
[JsonSerializable(typeof(WorkerResponse))]
[JsonSerializable(typeof(WorkerReport))]
public sealed partial class WorkerJson : JsonSerializerContext
{
    public static string Line<T>(T value) => JsonSerializer.Serialize(value, typeof(T), Default) + "\n";

    public static T Parse<T>(string line) => (T)(JsonSerializer.Deserialize(line, typeof(T), Default)
        ?? throw new InvalidDataException("empty message on the worker socket"));
}
