using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service.Domain;

/// <summary>
/// Set-VM's (and Rename-VM's) changes, not yet checked (<see cref="VmConfigurationStore.Update"/> checks them): each
/// property null when it is not to change. An empty kernel or initrd path is given and clears it.
/// </summary>
public sealed record VmSettingsChange
{
    public string? NewName { get; init; }
    public string? Notes { get; init; }
    public int? ProcessorCount { get; init; }
    public long? MemoryStartupBytes { get; init; }
    public AutomaticStartAction? AutomaticStartAction { get; init; }
    public int? AutomaticStartDelaySeconds { get; init; }
    public AutomaticStopAction? AutomaticStopAction { get; init; }
    public CheckpointType? CheckpointType { get; init; }
    public string? KernelPath { get; init; }
    public string? InitrdPath { get; init; }
    public string? KernelCommandLine { get; init; }
    public string? Backend { get; init; }

    /// <summary>Whether any change needs the VM Off: processors, memory, boot source or backend.</summary>
    public bool NeedsOff => ProcessorCount is not null || MemoryStartupBytes is not null || KernelPath is not null || InitrdPath is not null
        || KernelCommandLine is not null || Backend is not null;
}
