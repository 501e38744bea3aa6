namespace HyperSharp.Cluster;

/// <summary>
/// Which node takes which ownerless group, decided the same way by every surviving node from the same snapshot: highest
/// priority first (No Auto Start never), a lower priority only once every higher one that should run is running, each
/// group to the live node with the most free memory left (capacity checked), ties by name. Nodes that see different
/// snapshots may disagree; the claim transaction then lets exactly one of them own the group.
/// </summary>
public static class FailoverPlan
{
    public sealed record Placement(GroupRecord Group, string? Node, string? Refusal);

    public static List<Placement> Decide(ClusterSnapshot snapshot)
    {
        var placements = new List<Placement>();
        var free = snapshot.Alive.ToDictionary(a => a.Key, a => a.Value.FreeMemoryBytes, StringComparer.OrdinalIgnoreCase);
        if (free.Count == 0) return placements;
        var waiting = snapshot.Groups.Where(g => g.Record.Online && g.Record.Priority > GroupPriority.NoAutoStart && g.State is not (GroupState.Online or GroupState.Failed)).ToList();
        if (waiting.Count == 0) return placements;
        // Start order: the highest priority still waiting goes now; lower ones wait until it runs (or failed).
        int now = waiting.Max(g => g.Record.Priority);
        foreach (var group in waiting.Where(g => g.Record.Priority == now && g.Owner is null).OrderBy(g => g.Record.Name, StringComparer.OrdinalIgnoreCase))
        {
            var best = free.OrderByDescending(f => f.Value).ThenBy(f => f.Key, StringComparer.OrdinalIgnoreCase).First();
            if (best.Value < group.Record.MemoryBytes)
            {
                placements.Add(new Placement(group.Record, null, $"no node has {group.Record.MemoryBytes >> 20} MiB free (the most is {best.Value >> 20} MiB on {best.Key})"));
                continue;
            }
            free[best.Key] = best.Value - group.Record.MemoryBytes;
            placements.Add(new Placement(group.Record, best.Key, null));
        }
        return placements;
    }
}
