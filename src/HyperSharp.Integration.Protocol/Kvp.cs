namespace HyperSharp.Integration.Protocol;

/// <summary>
/// Key-Value Pair Exchange pools, numbered and named as Hyper-V's (Linux include/uapi/linux/hyperv.h, enum
/// hv_kvp_exchg_pool): External is written by the host for the guest to read, Guest by the guest for the host,
/// Auto holds the guest's intrinsic items (host name, OS, addresses), AutoExternal and AutoInternal the rest.
/// </summary>
public enum KvpPool
{
    External = 0,
    Guest = 1,
    Auto = 2,
    AutoExternal = 3,
    AutoInternal = 4,
}

/// <summary>Hyper-V's KVP size limits (HV_KVP_EXCHANGE_MAX_KEY_SIZE / _VALUE_SIZE), in bytes of UTF-8 here.</summary>
public static class KvpLimits
{
    public const int MaxKeyBytes = 512;
    public const int MaxValueBytes = 2048;
    /// <summary>Items one pool may hold: a full pool still fits one reply frame, and a guest filling a pool without end cannot exhaust the host.</summary>
    public const int MaxItemsPerPool = 64;

    /// <summary>Null when the item is acceptable, else what is wrong with it.</summary>
    public static string? Check(KvpPool pool, string key, string value)
    {
        if (!Enum.IsDefined(pool)) return $"KVP pool {(int)pool} does not exist (0 to 4)";
        if (key.Length == 0) return "a KVP key may not be empty";
        if (key.Contains('\0') || value.Contains('\0')) return "KVP keys and values may not contain NUL";
        int k = System.Text.Encoding.UTF8.GetByteCount(key), v = System.Text.Encoding.UTF8.GetByteCount(value);
        if (k >= MaxKeyBytes) return $"KVP key of {k} bytes: at most {MaxKeyBytes - 1} (Hyper-V's {MaxKeyBytes} with its terminator)";
        if (v >= MaxValueBytes) return $"KVP value of {v} bytes: at most {MaxValueBytes - 1} (Hyper-V's {MaxValueBytes} with its terminator)";
        return null;
    }
}
