using HyperSharp.Inventory;

namespace HyperSharp.Host.Service.Memory;

/// <summary>Get-VM's MemoryStatus: empty unless the VM has dynamic memory; then how its assigned memory compares with its demand.</summary>
public static class MemoryStatus
{
    /// <summary>
    /// "Warning" when the guest has less than it uses, "Low" when less spare than the buffer asks (demand × buffer %),
    /// "OK" otherwise (and before the guest reports its demand).
    /// </summary>
    public static string Of(MemorySettings settings, long assigned, long demand)
    {
        if (!settings.DynamicMemoryEnabled) return "";
        if (demand <= 0) return "OK";
        if (assigned < demand) return "Warning";
        return assigned - demand < demand * settings.Buffer / 100 ? "Low" : "OK";
    }
}
