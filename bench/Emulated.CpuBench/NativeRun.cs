using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Emulated.CpuBench;

/// <summary>Runs the same workload natively on the host CPU (x86-64 Linux only) for the emulator/native ratio.</summary>
internal static unsafe partial class NativeRun
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);
    [LibraryImport("libc")]
    private static partial int munmap(nint addr, nuint length);

    /// <summary>Seconds for one native run, and its hash; null where the host cannot run it.</summary>
    public static (double seconds, ulong hash)? Measure(int rounds)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        const int size = 1 << 16;
        nint mem = mmap(0, size, 7, 0x22, -1, 0); // RWX, private anonymous
        if (mem == -1) return null;
        try
        {
            ulong code = (ulong)mem, data = (ulong)mem + 0x8000;
            var bytes = GuestWorkload.Assemble(code, data, rounds, native: true);
            bytes.CopyTo(new Span<byte>((void*)mem, size));
            // Safe: the buffer holds the workload assembled for this address; it touches only its own data
            // area inside the mapping and returns with the callee-saved registers restored.
            var fn = (delegate* unmanaged<ulong>)mem;
            fn(); // warm caches
            var sw = Stopwatch.StartNew();
            ulong hash = fn();
            return (sw.Elapsed.TotalSeconds, hash);
        }
        finally { munmap(mem, size); }
    }
}
