using HyperSharp.Api.V1;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Service.Memory;

/// <summary>
/// Set-VMMemory's settings checked and applied to the current ones, each bad value refused naming its parameter (Hyper-V's
/// ranges: Buffer 5-2000 %, Priority 0-100); and which of the changes need the VM Off.
/// </summary>
public static class MemorySettingsRequest
{
    public const int DefaultWaitSeconds = 30, MaxWaitSeconds = 600;

    /// <summary>The settings <paramref name="request"/> asks for on top of <paramref name="current"/>.</summary>
    public static MemorySettings Apply(MemorySettings current, SetMemoryRequest request)
    {
        var m = current;
        if (request.HasStartupBytes) m = m with { StartupBytes = RequestValidation.Memory("startup_bytes", request.StartupBytes) };
        if (request.HasDynamicMemoryEnabled) m = m with { DynamicMemoryEnabled = request.DynamicMemoryEnabled };
        if (request.HasMinimumBytes) m = m with { MinimumBytes = RequestValidation.Memory("minimum_bytes", request.MinimumBytes) };
        if (request.HasMaximumBytes) m = m with { MaximumBytes = RequestValidation.Memory("maximum_bytes", request.MaximumBytes) };
        if (request.HasBuffer) m = m with { Buffer = RequestValidation.Range("buffer", request.Buffer, 5, 2000, "the memory buffer (percent)") };
        if (request.HasPriority) m = m with { Priority = RequestValidation.Range("priority", request.Priority, 0, 100, "the memory priority") };
        if (request.HasRuntimeResizeEnabled) m = m with { RuntimeResize = request.RuntimeResizeEnabled };
        if (m.DynamicMemoryEnabled && (m.MinimumBytes > m.StartupBytes || m.StartupBytes > m.MaximumBytes))
        {
            string parameter = request.HasMinimumBytes ? "minimum_bytes" : request.HasMaximumBytes ? "maximum_bytes" : "startup_bytes";
            throw HostErrors.Invalid(parameter, $"with dynamic memory, minimum ({m.MinimumBytes}) <= startup ({m.StartupBytes}) <= maximum ({m.MaximumBytes}) must hold");
        }
        if (m.DynamicMemoryEnabled && m.MaximumBytes > RequestValidation.MaxMemoryBytes)
            throw HostErrors.Invalid("maximum_bytes", $"{m.MaximumBytes} bytes: at most {RequestValidation.MaxMemoryBytes >> 40} TiB");
        return m;
    }

    /// <summary>How long a running VM's resize waits for the guest; 0 means the default.</summary>
    public static TimeSpan Wait(SetMemoryRequest request) => request.WaitSeconds == 0
        ? TimeSpan.FromSeconds(DefaultWaitSeconds)
        : TimeSpan.FromSeconds(RequestValidation.Range("wait_seconds", request.WaitSeconds, 1, MaxWaitSeconds, "the seconds to wait for the guest"));

    /// <summary>
    /// What of <paramref name="wanted"/> a running VM cannot take, because it decides the hardware the VM starts with
    /// (dynamic memory, its minimum and maximum, runtime resize); null when all of it can be applied while it runs.
    /// </summary>
    public static string? NeedsOff(MemorySettings current, MemorySettings wanted)
    {
        var changed = new List<string>();
        if (wanted.DynamicMemoryEnabled != current.DynamicMemoryEnabled) changed.Add("DynamicMemoryEnabled");
        if (wanted.MinimumBytes != current.MinimumBytes) changed.Add("MinimumBytes");
        if (wanted.MaximumBytes != current.MaximumBytes) changed.Add("MaximumBytes");
        if (wanted.RuntimeResize != current.RuntimeResize) changed.Add("RuntimeResizeEnabled");
        return changed.Count == 0 ? null : string.Join(", ", changed);
    }
}
