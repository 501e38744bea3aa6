using System.Runtime.InteropServices;
using HyperSharp.Hypervisor;

namespace HyperSharp.Machine.Memory;

/// <summary>
/// Finds the pages of guest memory the guest has ever touched (resident in the host), so saving a
/// huge, mostly untouched guest reads only what exists instead of terabytes of zeros (mincore(2)).
/// </summary>
internal static unsafe partial class ResidentPages
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int mincore(nint address, nuint length, byte* vector);

    private const ulong Page = 4096, Chunk = 1UL << 30;

    private static bool Query(nint address, ulong length, byte[] vector)
    {
        // Safe: the caller passes a range inside the live mapping, and the vector has one byte per page of it.
        fixed (byte* v = vector) return mincore(address, (nuint)length, v) == 0;
    }

    /// <summary>Offsets of resident 4 KiB pages, in order.</summary>
    public static IEnumerable<ulong> Of(GuestMemory memory)
    {
        var vector = new byte[Chunk / Page];
        for (ulong start = 0; start < memory.Size; start += Chunk)
        {
            ulong length = Math.Min(Chunk, memory.Size - start);
            if (!Query(memory.HostAddress + (nint)start, length, vector))
            {
                // Without mincore every page counts as resident: slower, never wrong.
                for (ulong p = 0; p < length; p += Page) yield return start + p;
                continue;
            }
            for (ulong i = 0; i < length / Page; i++)
                if ((vector[i] & 1) != 0) yield return start + i * Page;
        }
    }
}
