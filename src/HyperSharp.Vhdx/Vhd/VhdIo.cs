using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>Positional reads that either fill the whole buffer or say which structure was cut short.</summary>
internal static class VhdIo
{
    public static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path, string structure)
    {
        long at = offset;
        while (buffer.Length > 0)
        {
            int n = RandomAccess.Read(handle, buffer, at);
            if (n == 0)
                throw new CorruptImageException(path, structure, offset, $"the file ends at {at}, inside this structure (truncated file)");
            buffer = buffer[n..];
            at += n;
        }
    }

    /// <summary>Reads data; bytes past the end of the file read as zeros (the file was checked at open).</summary>
    public static void ReadData(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        while (buffer.Length > 0)
        {
            int n = RandomAccess.Read(handle, buffer, offset);
            if (n == 0) { buffer.Clear(); return; }
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>Gives a range back to the file system, or writes zeros where holes are unsupported.</summary>
    public static void Zero(SafeFileHandle handle, long offset, long length)
    {
        if (!HostFile.PunchHole(handle, offset, length)) HostFile.WriteZeros(handle, offset, length);
    }
}
