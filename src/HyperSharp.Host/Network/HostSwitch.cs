using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Switching;

namespace HyperSharp.Host.Network;

/// <summary>
/// One switch as the host holds it: its configuration, the running switch (null when its TAP or uplink could not be
/// set up when the host started; the failure says why), and the counts of ports that have since gone.
/// </summary>
public sealed class HostSwitch(SwitchConfiguration config, VirtualSwitch? running, string? failure)
{
    private long _retiredForwarded, _retiredDropped;

    public SwitchConfiguration Config { get; set; } = config;
    public VirtualSwitch? Running { get; } = running;
    public string? Failure { get; } = failure;
    public Guid Id => Config.Id;
    public string Name => Config.Name;

    /// <summary>Frames sent out of its ports, and frames it dropped (policy, full queues, malformed), since the host started.</summary>
    public (long Forwarded, long Dropped) Counters()
    {
        long forwarded = Interlocked.Read(ref _retiredForwarded), dropped = Interlocked.Read(ref _retiredDropped);
        foreach (var port in Running?.Ports ?? [])
        {
            forwarded += port.Counters.SentFrames;
            dropped += Dropped(port);
        }
        return (forwarded, dropped);
    }

    /// <summary>Takes a port off the switch, keeping its counts in the switch's totals.</summary>
    public void RemovePort(SwitchPort port)
    {
        Running?.RemovePort(port);
        Interlocked.Add(ref _retiredForwarded, port.Counters.SentFrames);
        Interlocked.Add(ref _retiredDropped, Dropped(port));
    }

    private static long Dropped(SwitchPort port)
    {
        long sum = 0;
        for (var reason = (DropReason)0; reason < DropReason.Count; reason++) sum += port.Counters.Dropped(reason);
        return sum;
    }
}
