namespace HyperSharp.Host.Service.Domain;

/// <summary>What happened to a VM, as the event feed carries it. The numbers are the API's VmEventKind's (a test holds them equal).</summary>
public enum VmChangeKind
{
    Unspecified = 0,
    StateChanged = 1,
    ConfigurationChanged = 2,
    Created = 3,
    Removed = 4,

    /// <summary>E.g. a worker crashed; the message says what happened.</summary>
    Error = 5,

    /// <summary>A running VM's memory changed; the message says to what, and what the guest did not give or take.</summary>
    MemoryResized = 6,

    /// <summary>Host resource protection or a QoS limit held the VM back; the message says what and how much.</summary>
    Throttled = 7,
}

/// <summary>One event of the host's feed (<see cref="EventFeed"/>): which VM, what happened, its state before and after.</summary>
public sealed record VmChange(Guid VmId, string VmName, VmChangeKind Kind, PowerState OldState, PowerState NewState, string Message)
{
    public long TimeUnixMs { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
