using System.Runtime.InteropServices;

namespace HyperSharp.Host.Tests;

/// <summary>Files a hostile operator names instead of images: FIFOs, truncated and overwritten disks.</summary>
public static partial class SpecialFiles
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo(string path, uint mode);

    /// <summary>A named pipe nobody writes to: whoever opens it for reading waits for ever.</summary>
    public static string Fifo(string path)
    {
        if (mkfifo(path, 0b110_100_100) != 0) throw new IOException($"mkfifo {path}: errno {Marshal.GetLastPInvokeError()}");
        return path;
    }

    /// <summary>A dynamic VHDX cut to <paramref name="length"/> bytes, as a copy that ran out of space leaves it.</summary>
    public static string TruncatedVhdx(string path, long capacity, long length)
    {
        HyperSharp.Vhdx.VirtualDisk.Create(path, new HyperSharp.Vhdx.DiskCreateOptions { Capacity = capacity }).Dispose();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.SetLength(length);
        return path;
    }
}
