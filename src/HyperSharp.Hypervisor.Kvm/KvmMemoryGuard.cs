namespace HyperSharp.Hypervisor.Kvm;

/// <summary>
/// Refuses memory slots whose registration would exhaust host memory. KVM allocates per-page tracking
/// (reverse maps; with shadow paging, as on paravirtual hosts, all of it at registration) of about 8 bytes per
/// 4 KiB guest page, i.e. 2 GiB of host kernel memory per TiB of slot, and such hosts cap one slot below 8 TiB.
/// Asking the kernel anyway can take the whole host down, so the cost is estimated first and compared with
/// half of MemAvailable (the other half stays for the host and the guest's own pages).
/// </summary>
internal static class KvmMemoryGuard
{
    /// <summary>Host bytes per guest byte: 8 bytes per 4 KiB page.</summary>
    public const ulong CostDivisor = 512;

    /// <summary>Fixed per-slot overhead added to the estimate (slot bookkeeping, dirty bitmap, rounding).</summary>
    public const ulong SlotMargin = 16UL << 20;

    /// <summary>Largest slot KVM accepts here: one page below 8 TiB.</summary>
    public const ulong MaxSlotSize = (8UL << 40) - MemorySlot.PageSize;

    /// <summary>Estimated host kernel memory that registering <paramref name="slotSize"/> bytes costs.</summary>
    public static ulong EstimateCost(ulong slotSize) => slotSize / CostDivisor + SlotMargin;

    /// <summary>Largest slot the host can afford with <paramref name="memAvailable"/> bytes available (4 KiB multiple).</summary>
    public static ulong LargestAffordable(ulong memAvailable)
    {
        ulong budget = memAvailable / 2;
        ulong size = budget <= SlotMargin ? 0 : (budget - SlotMargin) * CostDivisor;
        size = Math.Min(size, MaxSlotSize);
        return size & ~(MemorySlot.PageSize - 1);
    }

    /// <summary>Null when a slot of <paramref name="slotSize"/> bytes is affordable, otherwise the refusal message.</summary>
    public static string? Evaluate(int slotId, ulong slotSize, ulong memAvailable)
    {
        ulong largest = LargestAffordable(memAvailable);
        if (slotSize <= largest)
            return null;
        var reasons = new List<string>(2);
        if (slotSize > MaxSlotSize)
            reasons.Add("one KVM memory slot must stay below 8 TiB");
        if (EstimateCost(slotSize) > memAvailable / 2)
            reasons.Add($"registering it would make KVM allocate about {Format(EstimateCost(slotSize))} of host kernel memory (2 GiB per TiB of guest RAM), "
                + $"more than the {Format(memAvailable / 2)} this host can spare (half of MemAvailable {Format(memAvailable)})");
        string why = string.Join("; and ", reasons);
        return $"Memory slot {slotId} of {Format(slotSize)} refused: {why}. The largest slot this host can take now is {Format(largest)} "
            + "(all slots of all VMs draw on that budget); give the VM less memory or free host memory.";
    }

    /// <summary>Throws <see cref="HypervisorException"/> when the slot is not affordable right now.</summary>
    public static void Check(int slotId, ulong slotSize)
    {
        string? refusal = Evaluate(slotId, slotSize, ReadMemAvailable());
        if (refusal is not null)
            throw new HypervisorException(refusal);
    }

    /// <summary>MemAvailable from /proc/meminfo in bytes (0 when unreadable, which refuses everything: failing safe).</summary>
    public static ulong ReadMemAvailable()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return ulong.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>Bytes as a short human size (GiB/TiB with one decimal).</summary>
    public static string Format(ulong bytes) => bytes switch
    {
        >= 1UL << 40 => $"{bytes / (double)(1UL << 40):0.#} TiB",
        >= 1UL << 30 => $"{bytes / (double)(1UL << 30):0.#} GiB",
        _ => $"{bytes / (double)(1UL << 20):0.#} MiB",
    };
}
