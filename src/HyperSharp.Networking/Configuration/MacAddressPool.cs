using System.Security.Cryptography;
using System.Text;
using HyperSharp.Networking.Frames;

namespace HyperSharp.Networking.Configuration;

/// <summary>
/// Dynamic MAC addresses for a host, as Hyper-V hands out 00-15-5D-xx-xx-xx. Ours are
/// 0A-48-53-HH-xx-xx: 0A has the locally-administered bit set and the group bit clear (so they can
/// never collide with a vendor's burned-in address), 48-53 is "HS", HH is a byte derived from the
/// host's /etc/machine-id (Hyper-V uses bytes of the host's IP address the same way) so hosts on
/// one network draw from different ranges, and the last two bytes number the adapters: 65 536 per host.
/// </summary>
public sealed class MacAddressPool
{
    public const ulong Prefix = 0x0A_48_53UL << 24;
    private readonly object _lock = new();
    private readonly HashSet<ulong> _inUse = [];
    private ulong _next;

    public MacAddressPool(MacAddress minimum, MacAddress maximum, IEnumerable<MacAddress>? inUse = null)
    {
        if (minimum.Value > maximum.Value) throw new ArgumentException($"MAC range {minimum}..{maximum} is empty");
        if (minimum.IsMulticast || maximum.IsMulticast) throw new ArgumentException("a MAC pool must hand out unicast addresses");
        (Minimum, Maximum, _next) = (minimum, maximum, minimum.Value);
        foreach (var mac in inUse ?? []) _inUse.Add(mac.Value);
    }

    public MacAddress Minimum { get; }
    public MacAddress Maximum { get; }

    /// <summary>This host's default range: 0A-48-53-HH-00-00 to 0A-48-53-HH-FF-FF.</summary>
    public static (MacAddress Minimum, MacAddress Maximum) DefaultRange()
    {
        ulong start = Prefix | (ulong)HostByte() << 16;
        return (new MacAddress(start), new MacAddress(start | 0xFFFF));
    }

    private static byte HostByte()
    {
        string id = "";
        try { id = File.ReadAllText("/etc/machine-id").Trim(); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        if (id.Length == 0) id = Environment.MachineName;
        return SHA256.HashData(Encoding.UTF8.GetBytes(id))[0];
    }

    /// <summary>The next address of the range not in use, round-robin so a released address is not reused at once.</summary>
    public MacAddress Allocate()
    {
        lock (_lock)
        {
            ulong span = Maximum.Value - Minimum.Value + 1;
            for (ulong i = 0; i < span; i++)
            {
                ulong candidate = _next;
                _next = _next == Maximum.Value ? Minimum.Value : _next + 1;
                if (_inUse.Add(candidate)) return new MacAddress(candidate);
            }
            throw new InvalidOperationException($"every MAC address from {Minimum} to {Maximum} is in use; widen the range or use static addresses");
        }
    }

    /// <summary>Marks a static address as taken (a static MAC inside the range must not be handed out too).</summary>
    public void Reserve(MacAddress mac) { lock (_lock) _inUse.Add(mac.Value); }

    public void Release(MacAddress mac) { lock (_lock) _inUse.Remove(mac.Value); }
}
