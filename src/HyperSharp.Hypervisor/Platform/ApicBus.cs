namespace HyperSharp.Hypervisor.Platform;

/// <summary>
/// Connects the local APICs of a partition to each other and to interrupt sources: routes IPIs,
/// MSIs and I/O APIC messages to their destination APICs (physical ID, logical flat/cluster mask,
/// broadcast, lowest priority), and level-triggered EOIs back to the I/O APIC.
/// </summary>
public sealed class ApicBus
{
    private LocalApic[] _apics = [];
    private readonly object _lock = new();

    /// <summary>Called with a vector when a local APIC finishes a level-triggered interrupt (the I/O APIC clears Remote IRR).</summary>
    public event Action<byte>? LevelEoi;

    public void Attach(LocalApic apic)
    {
        lock (_lock) _apics = [.. _apics, apic];
    }

    public IReadOnlyList<LocalApic> Apics => Volatile.Read(ref _apics);

    public void Send(ApicMessage message, LocalApic? source = null, IpiShorthand shorthand = IpiShorthand.None)
    {
        var apics = Volatile.Read(ref _apics);
        IEnumerable<LocalApic> targets = shorthand switch
        {
            IpiShorthand.Self => source is null ? [] : [source],
            IpiShorthand.AllIncludingSelf => apics,
            IpiShorthand.AllExcludingSelf => apics.Where(a => a != source),
            _ => apics.Where(a => a.Matches(message.Destination, message.LogicalDestination)),
        };
        if (message.Mode == DeliveryMode.LowestPriority && shorthand == IpiShorthand.None)
        {
            // Lowest priority: the matching APIC with the lowest task priority takes it (ties: lowest ID).
            var chosen = targets.OrderBy(a => a.TaskPriority).ThenBy(a => a.Id).FirstOrDefault();
            chosen?.Accept(message with { Mode = DeliveryMode.Fixed });
            return;
        }
        foreach (var target in targets) target.Accept(message);
    }

    internal void RaiseLevelEoi(byte vector) => LevelEoi?.Invoke(vector);
}

/// <summary>The ICR destination shorthand.</summary>
public enum IpiShorthand { None = 0, Self = 1, AllIncludingSelf = 2, AllExcludingSelf = 3 }
