namespace HyperSharp.Vhdx.Vhdx;

public sealed partial class VhdxDisk
{
    /// <summary>Creates a fixed, dynamic or differencing VHDX and opens it for writing.</summary>
    public static VhdxDisk Create(string path, DiskCreateOptions options)
    {
        if (options.Format != DiskFormat.Vhdx) throw new ArgumentException($"format {options.Format} is not VHDX", nameof(options));
        VhdxCreator.Create(path, options);
        return Open(path);
    }
}
