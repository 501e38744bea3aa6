using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Inventory.Platform;

/// <summary>
/// Opens a path for reading without ever waiting: O_NONBLOCK, so a FIFO with no writer (or a device) cannot hang the
/// caller, then tells what was opened from the descriptor itself, so a path swapped after a stat is still caught.
/// </summary>
public static partial class NonBlockingOpen
{
    private const int ORdOnly = 0, ONoCtty = 0x100, ONonBlock = 0x800, OCloExec = 0x80000;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    /// <summary>The open file and what it is; IOException (or UnauthorizedAccessException) when it cannot be opened.</summary>
    public static (SafeFileHandle Handle, FileStatus Status) ForReading(string path)
    {
        int fd = open(path, ORdOnly | ONoCtty | ONonBlock | OCloExec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string why = Marshal.GetPInvokeErrorMessage(errno);
            if (errno is 1 or 13) throw new UnauthorizedAccessException($"{path}: {why}"); // EPERM, EACCES
            throw new IOException($"{path}: {why}");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try { return (handle, FileStatus.Of(handle, path)); }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
