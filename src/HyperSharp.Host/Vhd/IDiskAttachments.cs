namespace HyperSharp.Host.Vhd;

/// <summary>
/// Which disk files a VM on this host uses (Get-VHD's Attached). The VM inventory registers its own
/// implementation in the service collection; without one, no disk counts as attached.
/// </summary>
public interface IDiskAttachments
{
    /// <summary>True when a VM on this host has <paramref name="fullPath"/> as one of its drives.</summary>
    bool IsAttached(string fullPath);
}
