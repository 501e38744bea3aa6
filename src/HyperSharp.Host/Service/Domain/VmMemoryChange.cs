namespace HyperSharp.Host.Service.Domain;

/// <summary>
/// Set-VMMemory's changes, not yet checked (<see cref="Memory.MemorySettingsRequest"/> checks them): each setting null
/// when it is not to change; <see cref="WaitSeconds"/> 0 means the default wait for a running guest's resize.
/// </summary>
public sealed record VmMemoryChange
{
    public long? StartupBytes { get; init; }
    public bool? DynamicMemoryEnabled { get; init; }
    public long? MinimumBytes { get; init; }
    public long? MaximumBytes { get; init; }
    public int? Buffer { get; init; }
    public int? Priority { get; init; }
    public bool? RuntimeResizeEnabled { get; init; }
    public int WaitSeconds { get; init; }
}
