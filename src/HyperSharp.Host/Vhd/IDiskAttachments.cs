using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Host.Vhd;

/// <summary>
/// Which disk files a VM on this host uses (Get-VHD's Attached), and the disks a running VM's worker holds open, which
/// Get-VHD and Resize-VHD reach through that worker. The VM inventory registers its own implementation in the service
/// collection; without one, no disk counts as attached.
/// </summary>
public interface IDiskAttachments
{
    /// <summary>True when a VM on this host has <paramref name="fullPath"/> as one of its drives.</summary>
    bool IsAttached(string fullPath);

    /// <summary>
    /// The disk as the running (or paused) VM that has it open sees it — after resizing it to <paramref name="resizeTo"/>
    /// when given — or null when no running VM has it open (the file is then the host's to open). A refusal names the VM.
    /// </summary>
    Task<DiskInfo?> InUseAsync(string fullPath, long? resizeTo, CancellationToken cancellationToken);
}
