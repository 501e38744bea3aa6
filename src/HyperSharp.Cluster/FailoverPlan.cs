namespace HyperSharp.Cluster;

/// <summary>
/// Which node takes which ownerless group, decided the same way by every surviving node from the same snapshot: highest
/// priority first (No Auto Start never), a lower priority only once every higher one that should run is running, each
/// group to a live node with room (capacity checked) chosen by, in turn: no group of a shared anti-affinity class there
/// (soft, as Hyper-V's default: a conflict only when no other node has room), its preferred owners in their order, the
/// most free memory, the name; a Paused node takes none.
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
        var classes = Classes(snapshot);
        var waiting = snapshot.Groups.Where(g => g.Record.Online && g.Record.Priority > GroupPriority.NoAutoStart && g.State is not (GroupState.Online or GroupState.Failed)
            && !placements.Any(p => p.Group.Name == g.Record.Name)).ToList();
        if (waiting.Count == 0) return placements;
        // Start order: the highest priority still waiting goes now; lower ones wait until it runs (or failed).
        int now = waiting.Max(g => g.Record.Priority);
        foreach (var group in waiting.Where(g => g.Record.Priority == now && g.Owner is null).OrderBy(g => g.Record.Name, StringComparer.OrdinalIgnoreCase))
            placements.Add(Place(group.Record, free, classes));
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
        var classes = Classes(snapshot);
        return [.. snapshot.Groups
            .Where(g => string.Equals(g.Owner, node, StringComparison.OrdinalIgnoreCase) && g.Record.Online)
            .OrderByDescending(g => g.Record.Priority).ThenBy(g => g.Record.Name, StringComparer.OrdinalIgnoreCase)
            .Select(g => Place(g.Record, free, classes))];
    }

    /// <summary>The anti-affinity class names of the groups each node owns now (placements add to it as they go).</summary>
    private static Dictionary<string, HashSet<string>> Classes(ClusterSnapshot snapshot)
    {
        var classes = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var g in snapshot.Groups.Where(g => g.Owner is not null))
            Add(classes, g.Owner!, g.Record);
        return classes;
    }

    private static void Add(Dictionary<string, HashSet<string>> classes, string node, GroupRecord group)
    {
        if (!classes.TryGetValue(node, out var names)) classes[node] = names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        names.UnionWith(group.AntiAffinityClassNames);
    }

    /// <summary>
    /// The best node with room (see the class summary for the order), its free memory and classes then counting the
    /// group, or a refusal naming the most room there is.
    /// </summary>
    private static Placement Place(GroupRecord group, Dictionary<string, long> free, Dictionary<string, HashSet<string>> classes)
    {
        if (free.Count == 0) return new Placement(group, null, "no other node is Up and not Paused");
        int Rank(string node)
        {
            int i = group.PreferredOwners.FindIndex(p => string.Equals(p, node, StringComparison.OrdinalIgnoreCase));
            return i < 0 ? int.MaxValue : i;
        }
        bool Conflicts(string node) => classes.TryGetValue(node, out var names) && group.AntiAffinityClassNames.Any(names.Contains);
        var best = free.Where(f => f.Value >= group.MemoryBytes)
            .OrderBy(f => Conflicts(f.Key)).ThenBy(f => Rank(f.Key)).ThenByDescending(f => f.Value).ThenBy(f => f.Key, StringComparer.OrdinalIgnoreCase)
            .Select(f => f.Key).FirstOrDefault();
        if (best is null)
        {
            var most = free.OrderByDescending(f => f.Value).ThenBy(f => f.Key, StringComparer.OrdinalIgnoreCase).First();
            return new Placement(group, null, $"no node has {group.MemoryBytes >> 20} MiB free (the most is {most.Value >> 20} MiB on {most.Key})");
        }
        free[best] -= group.MemoryBytes;
        Add(classes, best, group);
        return new Placement(group, best, null);
    }
}
