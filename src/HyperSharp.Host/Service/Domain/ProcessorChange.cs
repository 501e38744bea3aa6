namespace HyperSharp.Host.Service.Domain;

/// <summary>
/// Set-VMProcessor's changes, not yet checked (<see cref="VmConfigurationStore.SetProcessor"/> checks them): each
/// property null when it is not to change.
/// </summary>
public sealed record ProcessorChange
{
    public int? Count { get; init; }
    public int? Maximum { get; init; }
    public int? Reserve { get; init; }
    public int? RelativeWeight { get; init; }
    public bool? ExposeVirtualizationExtensions { get; init; }
    public bool? EnableHostResourceProtection { get; init; }
}
