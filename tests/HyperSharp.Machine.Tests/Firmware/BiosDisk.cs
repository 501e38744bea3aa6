namespace HyperSharp.Machine.Tests.Firmware;

/// <summary>A disk that boots the guest kit through a PC BIOS (MBR, FAT, syslinux), built by eng/guest/build-bios-disk.sh.</summary>
internal static class BiosDisk
{
    /// <summary>Builds the disk at <paramref name="path"/>; null and the reason when the tools are missing.</summary>
    public static string? Build(string path, out string why)
    {
        why = "";
        string script = Path.Combine(GuestKit.RepoRoot(), "eng", "guest", "build-bios-disk.sh");
        try { GuestOverlay.Run("bash", script, path); }
        catch (InvalidOperationException e) when (e.Message.Contains("failed (2)", StringComparison.Ordinal)) { why = e.Message; return null; }
        return path;
    }
}
