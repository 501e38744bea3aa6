namespace HyperSharp.Vhdx.Tests.Operations;

/// <summary>
/// Applies the same random writes and unmaps to a disk and to an in-memory reference of what it
/// must read back, so operations can be checked byte for byte against the reference.
/// </summary>
internal static class DiskScript
{
    /// <summary>Deterministic mixed writes (random data, zeros, unmaps; aligned and unaligned) over the disk and the reference.</summary>
    public static void Scribble(IVirtualDisk disk, byte[] reference, int seed, int operations, bool unmaps = true)
    {
        var random = new Random(seed);
        for (int i = 0; i < operations; i++)
        {
            int kind = random.Next(10);
            int length = random.Next(1, 600 << 10);
            long offset = random.NextInt64(0, reference.Length - length);
            if (kind < 6 || kind == 9) offset = offset / 512 * 512; // mostly sector-aligned, like a guest
            if (kind < 7)
            {
                var data = new byte[length];
                random.NextBytes(data);
                disk.Write(offset, data);
                data.CopyTo(reference, offset);
            }
            else if (kind == 7)
            {
                disk.Write(offset, new byte[length]); // explicit zeros: stored data that happens to be zero
                Array.Clear(reference, (int)offset, length);
            }
            else if (unmaps)
            {
                disk.Unmap(offset, length);
                Array.Clear(reference, (int)offset, length);
            }
        }
        disk.Flush();
    }

    /// <summary>Reads a whole disk (with its chain) into memory.</summary>
    public static byte[] ReadAll(IVirtualDisk disk)
    {
        var all = new byte[disk.Capacity];
        disk.Read(0, all);
        return all;
    }

    public static byte[] ReadAll(string path)
    {
        using var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        return ReadAll(disk);
    }

    /// <summary>Asserts equality without printing megabytes: reports the first differing offset.</summary>
    public static void AssertSame(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int diff = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(diff == expected.Length, $"first difference at offset {diff} (0x{diff:X})");
    }

    /// <summary>Builds base ← child ← grandchild (VHDX), each scribbled; returns the paths and each layer's expected view.</summary>
    public static (string[] Paths, byte[][] Views) BuildChain(string dir, long capacity, int blockSize = 1 << 20, int sector = 512)
    {
        string[] paths = [Path.Combine(dir, "base.vhdx"), Path.Combine(dir, "child.avhdx"), Path.Combine(dir, "grandchild.avhdx")];
        var views = new byte[3][];
        views[0] = new byte[capacity];
        using (var disk = VirtualDisk.Create(paths[0], new DiskCreateOptions { Capacity = capacity, BlockSize = blockSize, LogicalSectorSize = sector }))
            Scribble(disk, views[0], 1, 60);
        for (int i = 1; i < 3; i++)
        {
            views[i] = (byte[])views[i - 1].Clone();
            using var disk = VirtualDisk.Create(paths[i], new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = paths[i - 1], LogicalSectorSize = sector });
            Scribble(disk, views[i], 10 + i, 40);
        }
        return (paths, views);
    }
}
