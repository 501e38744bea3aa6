using System.Buffers.Binary;

namespace HyperSharp.Vhdx.CrashWriter;

/// <summary>
/// Online grows under a kill: the writer grows the disk by a deterministic step, writes 64 KiB of
/// generation-n data just below the new end, flushes, and journals n. Starting above 120 GiB with
/// 1 MiB blocks, the grows soon outgrow the BAT region, so the BAT moves (several times).
/// </summary>
public static class ResizeWorkload
{
    public const int Marker = 64 * 1024;

    /// <summary>The capacity after grow number <paramref name="n"/> (n = 0: the starting capacity).</summary>
    public static long CapacityAfter(ulong seed, long start, long n)
    {
        long capacity = start;
        ulong state = seed;
        for (long i = 1; i <= n; i++)
        {
            state = state * 6364136223846793005UL + 1442695040888963407UL;
            long step = (long)((state >> 33) % 2048 + 1) * (1 << 20); // 1 MiB .. 2 GiB
            capacity += step;
        }
        return capacity;
    }

    public static int Run(string image, string journalPath, ulong seed)
    {
        using var disk = VirtualDisk.Open(image);
        long start = disk.Capacity;
        using var journal = File.OpenHandle(journalPath, FileMode.Create, FileAccess.Write, FileShare.Read);
        var record = new byte[8];
        var data = new byte[Marker];
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        for (long n = 1; ; n++)
        {
            long capacity = CapacityAfter(seed, start, n);
            disk.Resize(capacity);
            CrashWorkload.Fill(data, capacity - Marker, disk.LogicalSectorSize, n);
            disk.Write(capacity - Marker, data);
            disk.Flush();
            BinaryPrimitives.WriteInt64LittleEndian(record, n);
            RandomAccess.Write(journal, record, (n - 1) * 8);
            RandomAccess.FlushToDisk(journal);
        }
    }
}
