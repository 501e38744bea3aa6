using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>
/// Key-Value Pair Exchange: the host writes and deletes items of the External pool (host → guest); it reads any pool —
/// Guest (what guest software put there for the host), Auto (the intrinsic items, collected when asked) and the rest.
/// Sizes and counts are checked against Hyper-V's limits.
/// </summary>
internal sealed class KvpService(FrameChannel channel, string directory)
{
    public async Task HandleAsync(Frame frame, CancellationToken cancel)
    {
        switch (frame.Type)
        {
            case MessageType.KvpSet:
            {
                var m = frame.Decode(ProtocolJson.Default.KvpSetMessage);
                if (KvpLimits.Check(m.Pool, m.Key ?? "", m.Value ?? "") is string why) throw new ProtocolException(why);
                RequireHostWritable(m.Pool);
                Upsert(m.Pool, m.Key!, m.Value!);
                await channel.SendAsync(MessageType.Ok, frame.RequestId, cancel: cancel).ConfigureAwait(false);
                ItemSet?.Invoke(m.Pool, m.Key!, m.Value!);
                break;
            }
            case MessageType.KvpDelete:
            {
                var m = frame.Decode(ProtocolJson.Default.KvpDeleteMessage);
                RequireHostWritable(m.Pool);
                var file = new KvpPoolFile(directory, m.Pool);
                var items = OnDisk(file.Read);
                if (items.RemoveAll(i => i.Key == m.Key) == 0) throw new ProtocolException($"the {m.Pool} pool has no key '{m.Key}'");
                OnDisk(() => file.Write(items));
                await channel.SendAsync(MessageType.Ok, frame.RequestId, cancel: cancel).ConfigureAwait(false);
                break;
            }
            case MessageType.KvpEnumerate:
            {
                var m = frame.Decode(ProtocolJson.Default.KvpEnumerateMessage);
                if (!Enum.IsDefined(m.Pool)) throw new ProtocolException($"KVP pool {(int)m.Pool} does not exist (0 to 4)");
                var items = m.Pool == KvpPool.Auto ? GuestInfoCollector.AutoPool(GuestInfoCollector.Collect()) : [.. OnDisk(new KvpPoolFile(directory, m.Pool).Read)];
                await channel.SendAsync(MessageType.KvpItems, frame.RequestId, new KvpItemsMessage(m.Pool, items), ProtocolJson.Default.KvpItemsMessage, cancel)
                    .ConfigureAwait(false);
                break;
            }
            default: // GuestInfoRequest
                await channel.SendAsync(MessageType.GuestInfo, frame.RequestId, GuestInfoCollector.Collect(), ProtocolJson.Default.GuestInfoMessage, cancel)
                    .ConfigureAwait(false);
                break;
        }
    }

    /// <summary>A pool file that cannot be read or written (a read-only or full disk) is the request's error, not the session's.</summary>
    private T OnDisk<T>(Func<T> action)
    {
        try { return action(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ProtocolException($"the KVP pool files in {directory}: {e.Message}"); }
    }

    private void OnDisk(Action action) => OnDisk(() => { action(); return 0; });

    private static void RequireHostWritable(KvpPool pool)
    {
        if (pool is not (KvpPool.External or KvpPool.AutoExternal)) throw new ProtocolException($"the host writes only the External (0) and AutoExternal (3) pools, not {pool}");
    }

    /// <summary>An item the host set, once it is in its pool file (activation listens for its token).</summary>
    public event Action<KvpPool, string, string>? ItemSet;

    /// <summary>Adds or replaces an item of the agent's own Guest pool (guest → host).</summary>
    public void SetGuestItem(string key, string value) => Upsert(KvpPool.Guest, key, value);

    /// <summary>The value of <paramref name="key"/> in <paramref name="pool"/>, or null.</summary>
    public string? Find(KvpPool pool, string key) => OnDisk(new KvpPoolFile(directory, pool).Read).FirstOrDefault(i => i.Key == key)?.Value;

    private void Upsert(KvpPool pool, string key, string value)
    {
        var file = new KvpPoolFile(directory, pool);
        var items = OnDisk(file.Read);
        int at = items.FindIndex(i => i.Key == key);
        if (at >= 0) items[at] = new KvpItem(key, value);
        else if (items.Count >= KvpLimits.MaxItemsPerPool) throw new ProtocolException($"the {pool} pool holds {KvpLimits.MaxItemsPerPool} items already");
        else items.Add(new KvpItem(key, value));
        OnDisk(() => file.Write(items));
    }
}
