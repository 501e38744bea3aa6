namespace HyperSharp.Inventory.Workers;

/// <summary>
/// What a worker knows of its guest's agent, as it reports it to the host: the heartbeat (Hyper-V's words: NoContact,
/// Ok, LostCommunication), the protocol and software the agent announced, and the guest's own facts (host name, OS,
/// addresses per adapter) as the agent last gave them. Sent whole on every change, so the host keeps only the last.
/// </summary>
public sealed record GuestIntegrationStatus
{
    public const string NoContact = "NoContact", Ok = "Ok", LostCommunication = "LostCommunication";

    public string Heartbeat { get; init; } = NoContact;
    /// <summary>The protocol version the host and agent agreed on; 0 before an agent ever connected.</summary>
    public int ProtocolVersion { get; init; }
    /// <summary>The agent's software and version as its Hello said it ("hs-agent 1.2 ..."); empty before it connected.</summary>
    public string AgentSoftware { get; init; } = "";
    /// <summary>The agent speaks the newest protocol of the worker that reports (Hyper-V's "Up to date"; else "Update required").</summary>
    public bool AgentUpToDate { get; init; }
    public string HostName { get; init; } = "";
    public string OsName { get; init; } = "";
    public string OsVersion { get; init; } = "";
    /// <summary>The guest's activation state as its agent keeps it in its Guest pool ("Activated" or "Not activated: WHY"); empty before it said.</summary>
    public string Activation { get; init; } = "";
    public List<GuestAdapterAddresses> Adapters { get; init; } = [];
}

/// <summary>One adapter as the guest sees it: its MAC (12 hex digits, no separators, as the host stores it), name and addresses.</summary>
public sealed record GuestAdapterAddresses(string MacAddress, string Name, List<string> Addresses);
