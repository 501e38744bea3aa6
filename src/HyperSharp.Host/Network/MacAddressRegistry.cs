using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Frames;

namespace HyperSharp.Host.Network;

/// <summary>
/// Every MAC address on this host and the adapter holding it, static and dynamic alike, behind one lock: claiming an
/// address checks and takes it in one step, so two requests at once can never both get it (checking the stored
/// configurations first and taking the address later could). Built from the inventory when the host starts, so the
/// rule holds across restarts; an inventory that already holds a duplicate (written by an older build) is reported.
/// </summary>
public sealed class MacAddressRegistry
{
    private readonly object _lock = new();
    private readonly Dictionary<ulong, Holder> _holders = [];
    private readonly MacAddressPool _pool;

    /// <summary>Who holds an address: the adapter, and how an error message names it.</summary>
    public sealed record Holder(Guid AdapterId, string Description);

    public MacAddressRegistry(MacAddressPool pool, IEnumerable<(MacAddress Mac, Holder Holder)> inUse, Action<string> log)
    {
        _pool = pool;
        foreach (var (mac, holder) in inUse)
        {
            if (_holders.TryGetValue(mac.Value, out var first))
            {
                log($"MAC address {mac} is held by both {first.Description} and {holder.Description}; give one of them another address");
                continue;
            }
            _holders[mac.Value] = holder;
            _pool.Reserve(mac);
        }
    }

    /// <summary>A dynamic address from the host's pool, now held by <paramref name="holder"/>.</summary>
    public MacAddress Allocate(Holder holder)
    {
        lock (_lock)
        {
            var mac = _pool.Allocate(); // the pool never hands out an address held here: each one is reserved in it
            _holders[mac.Value] = holder;
            return mac;
        }
    }

    /// <summary>Takes a static address for <paramref name="holder"/>: null when it now holds it, else the holder that already does.</summary>
    public Holder? Claim(MacAddress mac, Holder holder)
    {
        lock (_lock)
        {
            if (_holders.TryGetValue(mac.Value, out var current)) return current.AdapterId == holder.AdapterId ? null : current;
            _holders[mac.Value] = holder;
            _pool.Reserve(mac);
            return null;
        }
    }

    /// <summary>Gives an address back, if <paramref name="adapterId"/> is the one holding it.</summary>
    public void Release(MacAddress mac, Guid adapterId)
    {
        lock (_lock)
        {
            if (!_holders.TryGetValue(mac.Value, out var current) || current.AdapterId != adapterId) return;
            _holders.Remove(mac.Value);
            _pool.Release(mac);
        }
    }
}
