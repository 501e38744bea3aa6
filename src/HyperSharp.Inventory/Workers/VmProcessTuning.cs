namespace HyperSharp.Inventory.Workers;

/// <summary>
/// The .NET runtime setting for processes that run a VM. The software processor's instruction handlers are
/// hot from the first second of a boot; with tiered compilation they first run unoptimized and are compiled
/// again later, which cost the Debian boot ~0.4 s of ~11 s here. Short CLI commands keep tiering (their
/// startup is ~70 ms faster with it), which is why this is set per process and not in the runtime config.
/// </summary>
public static class VmProcessTuning
{
    public const string Variable = "DOTNET_TieredCompilation";
    public const string Value = "0";
}
