namespace HyperSharp.Host;

/// <summary>Where the host service keeps its inventory, where it listens, and how it starts workers.</summary>
public sealed record HostServerOptions
{
    /// <summary>The inventory root (default /var/lib/hypersharp): one folder per VM under ROOT/vms.</summary>
    public required string InventoryRoot { get; init; }

    /// <summary>The Unix socket the API is served on.</summary>
    public required string SocketPath { get; init; }

    /// <summary>The program and leading arguments that run `hyper` for a worker (default: the one running now).</summary>
    public IReadOnlyList<string>? WorkerCommand { get; init; }

    /// <summary>
    /// Where to serve the API to remote clients over TCP with mutual TLS (null: the Unix socket only). The
    /// trust comes from <see cref="TlsDirectory"/>: ca.crt, host.crt, host.key.
    /// </summary>
    public System.Net.IPEndPoint? TlsListen { get; init; }

    /// <summary>
    /// The folders remote (TLS) clients may name files in — kernels, disks, new disks, VM folders; links are resolved
    /// first. Local clients are checked with their own credentials instead. Null: ROOT/vhds only.
    /// </summary>
    public IReadOnlyList<string>? StoragePaths { get; init; }

    /// <summary>The directory of the host's trust files (see HyperSharp.Api.Tls.TlsFiles).</summary>
    public string? TlsDirectory { get; init; }

    /// <summary>Where the host's notices go (worker crashes, recovery, automatic actions).</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Dynamic Memory's balancer: how often it runs, and the memory it may hand out (default: what the host has free).</summary>
    public Service.Memory.MemoryBalancerOptions MemoryBalancer { get; init; } = new();

    /// <summary>Get-VMHost's note on how the backend is chosen.</summary>
    public string BackendReason { get; init; } = "each worker picks kvm or emulated when its VM starts (auto)";

    /// <summary>
    /// A folder with a newer guest agent (hs-agent, hs-agent.version, hs-agent.sig, as eng/guest/build-agent.sh writes
    /// them) that each VM's worker offers to an older agent; null: agents are reported as they are and never updated.
    /// </summary>
    public string? AgentUpdateFolder { get; init; }

    /// <summary>
    /// Get-VMHost's NestedVirtualizationSupported: whether this host's KVM lets guests run hypervisors (its kvm_intel or
    /// kvm_amd module's nested parameter; the process that starts the host reads it). A VM that asks for nesting where
    /// it is not supported is refused at start by its worker's backend, with the reason.
    /// </summary>
    public bool NestedVirtualizationSupported { get; init; }

    /// <summary>The activation key (P-256 private key, PEM): guests whose agent carries its public half are activated on this host; null: none are.</summary>
    public string? ActivationKeyFile { get; init; }

    /// <summary>The cluster this host is a node of (etcd endpoints, node name); null: not clustered.</summary>
    public Cluster.ClusterNodeOptions? Cluster { get; init; }
}
