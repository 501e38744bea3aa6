using HyperSharp.Host.Service.Domain;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Service.Memory;

/// <summary>
/// Set-VMMemory's settings checked and applied to the current ones, each bad value refused naming its parameter (Hyper-V's
/// ranges: Buffer 5-2000 %, Priority 0-100); and which of the changes need the VM Off.
/// </summary>
public static class MemorySettingsRequest
{
    public const int DefaultWaitSeconds = 30, MaxWaitSeconds = 600;

    /// <summary>The settings <paramref name="change"/> asks for on top of <paramref name="current"/>.</summary>
    public static MemorySettings Apply(MemorySettings current, VmMemoryChange change)
    {
        var m = current;
        if (change.StartupBytes is { } startup) m = m with { StartupBytes = RequestValidation.Memory("startup_bytes", startup) };
        if (change.DynamicMemoryEnabled is { } dynamic) m = m with { DynamicMemoryEnabled = dynamic };
        if (change.MinimumBytes is { } minimum) m = m with { MinimumBytes = RequestValidation.Memory("minimum_bytes", minimum) };
        if (change.MaximumBytes is { } maximum) m = m with { MaximumBytes = RequestValidation.Memory("maximum_bytes", maximum) };
        if (change.Buffer is { } buffer) m = m with { Buffer = RequestValidation.Range("buffer", buffer, 5, 2000, "the memory buffer (percent)") };
        if (change.Priority is { } priority) m = m with { Priority = RequestValidation.Range("priority", priority, 0, 100, "the memory priority") };
        if (change.RuntimeResizeEnabled is { } resize) m = m with { RuntimeResize = resize };
        if (m.DynamicMemoryEnabled && (m.MinimumBytes > m.StartupBytes || m.StartupBytes > m.MaximumBytes))
        {
            string parameter = change.MinimumBytes is not null ? "minimum_bytes" : change.MaximumBytes is not null ? "maximum_bytes" : "startup_bytes";
            throw HostErrors.Invalid(parameter, $"with dynamic memory, minimum ({m.MinimumBytes}) <= startup ({m.StartupBytes}) <= maximum ({m.MaximumBytes}) must hold");
        }
        if (m.DynamicMemoryEnabled && m.MaximumBytes > RequestValidation.MaxMemoryBytes)
            throw HostErrors.Invalid("maximum_bytes", $"{m.MaximumBytes} bytes: at most {RequestValidation.MaxMemoryBytes >> 40} TiB");
        return m;
    }

    /// <summary>How long a running VM's resize waits for the guest; 0 means the default.</summary>
    public static TimeSpan Wait(VmMemoryChange change) => change.WaitSeconds == 0
        ? TimeSpan.FromSeconds(DefaultWaitSeconds)
        : TimeSpan.FromSeconds(RequestValidation.Range("wait_seconds", change.WaitSeconds, 1, MaxWaitSeconds, "the seconds to wait for the guest"));

    /// <summary>
    /// What of <paramref name="wanted"/> a running VM cannot take, because it decides the hardware the VM starts with
    /// (dynamic memory, its minimum and maximum, runtime resize); null when all of it can be applied while it runs.
    /// A running dynamic VM may have its minimum and maximum lowered (the balancer keeps within them from its next round);
    /// Hyper-V also lets the maximum rise, but here the maximum sized the hot-add memory the VM started with.
    /// </summary>
    public static string? NeedsOff(MemorySettings current, MemorySettings wanted)
    {
        var changed = new List<string>();
        if (wanted.DynamicMemoryEnabled != current.DynamicMemoryEnabled) changed.Add("DynamicMemoryEnabled");
        bool balanced = current.DynamicMemoryEnabled && wanted.DynamicMemoryEnabled;
        if (wanted.MinimumBytes > current.MinimumBytes || (wanted.MinimumBytes < current.MinimumBytes && !balanced)) changed.Add("MinimumBytes");
        if (wanted.MaximumBytes > current.MaximumBytes || (wanted.MaximumBytes < current.MaximumBytes && !balanced)) changed.Add("MaximumBytes");
        if (wanted.RuntimeResize != current.RuntimeResize) changed.Add("RuntimeResizeEnabled");
        return changed.Count == 0 ? null : string.Join(", ", changed);
    }
}
