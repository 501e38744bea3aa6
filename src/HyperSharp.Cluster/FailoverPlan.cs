namespace HyperSharp.Cluster;

/// <summary>
/// Which node takes which ownerless group, decided the same way by every surviving node from the same snapshot: highest
/// priority first (No Auto Start never), a lower priority only once every higher one that should run is running, each
/// group to the live node with the most free memory left (capacity checked), ties by name; a Paused node takes none.
/// A group whose owner died while moving it goes to the move's destination first, whatever its priority: the VM may
/// already run there. Nodes that see different snapshots may disagree; the claim transaction then lets exactly one of
/// them own the group.
/// </summary>
public static class FailoverPlan
{
    public sealed record Placement(GroupRecord Group, string? Node, string? Refusal);

    public static List<Placement> Decide(ClusterSnapshot snapshot)
    {
        var placements = new List<Placement>();
        var free = snapshot.Takers.ToDictionary(a => a.Key, a => a.Value.FreeMemoryBytes, StringComparer.OrdinalIgnoreCase);
        if (free.Count == 0) return placements;
        foreach (var moving in snapshot.Groups.Where(g => g.Owner is null && g.Move is { State: MoveState.Moving } m && snapshot.Alive.ContainsKey(m.To)))
            placements.Add(new Placement(moving.Record, moving.Move!.To, null));
        var waiting = snapshot.Groups.Where(g => g.Record.Online && g.Record.Priority > GroupPriority.NoAutoStart && g.State is not (GroupState.Online or GroupState.Failed)
            && !placements.Any(p => p.Group.Name == g.Record.Name)).ToList();
        if (waiting.Count == 0) return placements;
        // Start order: the highest priority still waiting goes now; lower ones wait until it runs (or failed).
        int now = waiting.Max(g => g.Record.Priority);
        foreach (var group in waiting.Where(g => g.Record.Priority == now && g.Owner is null).OrderBy(g => g.Record.Name, StringComparer.OrdinalIgnoreCase))
            placements.Add(Place(group.Record, free));
        return placements;
    }

    /// <summary>
    /// Suspend-ClusterNode -Drain: where each group <paramref name="node"/> owns and keeps running goes, highest priority
    /// first, each to the node that takes groups with the most free memory left; a group no node has room for stays (its
    /// refusal says why).
    /// </summary>
    public static List<Placement> Drain(ClusterSnapshot snapshot, string node)
    {
        var free = snapshot.Takers.Where(a => !string.Equals(a.Key, node, StringComparison.OrdinalIgnoreCase))
            .ToDictionary(a => a.Key, a => a.Value.FreeMemoryBytes, StringComparer.OrdinalIgnoreCase);
        return [.. snapshot.Groups
            .Where(g => string.Equals(g.Owner, node, StringComparison.OrdinalIgnoreCase) && g.Record.Online)
            .OrderByDescending(g => g.Record.Priority).ThenBy(g => g.Record.Name, StringComparer.OrdinalIgnoreCase)
            .Select(g => Place(g.Record, free))];
    }

    /// <summary>The node with the most free memory, if it has room (its free memory then counts the group), else a refusal.</summary>
    private static Placement Place(GroupRecord group, Dictionary<string, long> free)
    {
        if (free.Count == 0) return new Placement(group, null, "no other node is Up and not Paused");
        var best = free.OrderByDescending(f => f.Value).ThenBy(f => f.Key, StringComparer.OrdinalIgnoreCase).First();
        if (best.Value < group.MemoryBytes)
            return new Placement(group, null, $"no node has {group.MemoryBytes >> 20} MiB free (the most is {best.Value >> 20} MiB on {best.Key})");
        free[best.Key] = best.Value - group.MemoryBytes;
        return new Placement(group, best.Key, null);
    }
}
