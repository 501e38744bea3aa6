using HyperSharp.Hypervisor.Emulated.Memory;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>RAM added to the processors' view while they run (memory hot-add): above the RAM end, with at most one hole.</summary>
public unsafe class HotAddRamTests
{
    [Fact]
    public void AddedRamBecomesRamAndTheGapBeforeItTheHole()
    {
        using var block = GuestMemory.Allocate(64 << 20);
        using var memory = new PhysicalMemory((byte*)block.HostAddress, 64 << 20, 8 << 20);
        Assert.True(memory.IsRam(0, 8 << 20));
        Assert.False(memory.IsRam(8 << 20, 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Span(8 << 20, 16));

        memory.AddRam(8 << 20, 16 << 20);                      // right after the end: no hole
        Assert.True(memory.IsRam(0, 16 << 20));
        memory.AddRam(32 << 20, 48 << 20);                     // above a gap: the gap becomes the hole
        Assert.True(memory.IsRam(32 << 20, 16 << 20));
        Assert.False(memory.IsRam(16 << 20, 4096));
        Assert.False(memory.IsRam((32 << 20) - 4096, 8192));   // straddles the hole's end
        Assert.Equal(48UL << 20, memory.RamEnd);

        Assert.Throws<ArgumentException>(() => memory.AddRam(40 << 20, 50 << 20));    // below the RAM end
        Assert.Throws<ArgumentException>(() => memory.AddRam(56 << 20, 60 << 20));    // a second hole
        Assert.Throws<ArgumentException>(() => memory.AddRam(48 << 20, 80 << 20));    // past the reserved block
    }
}
