using HyperSharp.Inventory.Platform;

namespace HyperSharp.Inventory.Storage;

/// <summary>
/// What a VM boots, checked when it is configured and again just before its worker starts: the kernel a bzImage or an
/// ELF vmlinux, the initrd any file — both regular files (never a FIFO, a device or a folder, which a loader would
/// wait on for ever or read without end), not empty, no bigger than the loader reads, and together smaller than the
/// VM's memory. Each check opens without blocking and returns null, or the problem with the file named.
/// </summary>
public static class BootFileCheck
{
    /// <summary>The largest kernel accepted: an uncompressed vmlinux with debug information stays well below.</summary>
    public const long MaxKernelBytes = 1L << 30;

    /// <summary>The largest initrd: the loader reads it into one array.</summary>
    public static long MaxInitrdBytes => Array.MaxLength;

    private static ReadOnlySpan<byte> ElfMagic => [0x7F, (byte)'E', (byte)'L', (byte)'F'];
    private static ReadOnlySpan<byte> SetupHeaderMagic => "HdrS"u8;

    public static string? Kernel(string path)
    {
        return Inspect(path, "kernel", MaxKernelBytes, handle =>
        {
            Span<byte> head = stackalloc byte[0x206];
            int n = RandomAccess.Read(handle, head, 0);
            bool elf = n >= 4 && head[..4].SequenceEqual(ElfMagic);
            bool bzImage = n >= 0x206 && head[0x202..0x206].SequenceEqual(SetupHeaderMagic);
            return elf || bzImage ? null : $"'{path}' is neither a bzImage (no 'HdrS' setup header at 0x202) nor an ELF vmlinux";
        });
    }

    public static string? Initrd(string path) => Inspect(path, "initrd", MaxInitrdBytes, _ => null);

    /// <summary>Whether kernel and initrd (their file sizes: a lower bound of what they take) leave the guest any memory.</summary>
    public static string? FitsInMemory(string kernel, string? initrd, long memoryBytes)
    {
        long bytes = (FileStatus.Of(kernel)?.Size ?? 0) + (string.IsNullOrEmpty(initrd) ? 0 : FileStatus.Of(initrd)?.Size ?? 0);
        return bytes < memoryBytes ? null
            : $"the kernel and initrd take {bytes} bytes, more than the VM's {memoryBytes >> 20} MiB of memory: give it more memory or a smaller initrd";
    }

    private static string? Inspect(string path, string role, long maxBytes, Func<Microsoft.Win32.SafeHandles.SafeFileHandle, string?> content)
    {
        if (FileStatus.Of(path) is null) return $"'{path}' does not exist on the host";
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        FileStatus status;
        try { (handle, status) = NonBlockingOpen.ForReading(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"cannot open the {role}: {e.Message}"; }
        using (handle)
        {
            if (status.Kind != FileKind.Regular) return $"'{path}' is {FileStatus.Describe(status.Kind)}; the {role} must be a regular file";
            if (status.Size == 0) return $"'{path}' is empty";
            if (status.Size > maxBytes) return $"'{path}' is {status.Size} bytes; the {role} may be at most {maxBytes} bytes";
            try { return content(handle); }
            catch (IOException e) { return $"cannot read the {role} '{path}': {e.Message}"; }
        }
    }
}
