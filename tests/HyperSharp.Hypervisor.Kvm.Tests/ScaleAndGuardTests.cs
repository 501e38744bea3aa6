using HyperSharp.Hypervisor.Testing;
using System.Diagnostics;
using HyperSharp.Hypervisor.Kvm;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>
/// The "240 vCPUs / 12 TB" configuration: 240 vCPUs with a little RAM work; 12 TB of RAM is refused by the memory
/// guard before anything reaches the kernel. No test here registers more than a few MiB.
/// </summary>
public sealed class ScaleAndGuardTests(ITestOutputHelper output)
{
    private const int ManyProcessors = 240;
    private const ulong TwelveTerabytes = 12_000_000_000_000UL & ~0xFFFUL;

    [Fact]
    public void Create240Processors_WithSmallRam_AllRun()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        output.WriteLine($"KVM_CAP_MAX_VCPUS = {hv.MaxProcessorCount}");
        if (hv.MaxProcessorCount < ManyProcessors)
        {
            var ex = Assert.Throws<HypervisorException>(() => hv.CreatePartition(new PartitionOptions { ProcessorCount = ManyProcessors }));
            Assert.Contains("KVM_CAP_MAX_VCPUS", ex.Message);
            return;
        }

        var watch = Stopwatch.StartNew();
        using var guest = new TestGuest(hv, new PartitionOptions { ProcessorCount = ManyProcessors, IntervalTimer = false });
        // Every vCPU reports its APIC ID (CPUID leaf 1, EBX bits 31-24) on port 0x500.
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(eax, 1);
            a.cpuid();
            a.shr(ebx, 24);
            a.mov(eax, ebx);
            a.mov(dx, 0x500);
            a.@out(dx, eax);
            a.hlt();
        });
        var processors = new List<IVirtualProcessor>();
        try
        {
            for (int id = 0; id < ManyProcessors; id++)
                processors.Add(guest.StartProcessor(id, TestGuest.CodeAddress));
            output.WriteLine($"created {ManyProcessors} vCPUs in {watch.ElapsedMilliseconds} ms");
            foreach (var vp in processors)
            {
                var e = new IoStepper(vp).Next();
                Assert.Equal((AddressSpace.Port, (ulong)vp.Id), (e.Space, e.Value));
            }
            output.WriteLine($"created and ran {ManyProcessors} vCPUs in {watch.ElapsedMilliseconds} ms");
            Assert.Throws<HypervisorException>(() => guest.Partition.CreateProcessor(ManyProcessors)); // beyond ProcessorCount
        }
        finally
        {
            foreach (var vp in processors) vp.Dispose();
        }
    }

    [Fact]
    public void TwelveTerabyteSlot_IsRefusedWithLargestAffordableSize_AndHostUnharmed()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        int processors = Math.Min(ManyProcessors, hv.MaxProcessorCount);
        using var partition = hv.CreatePartition(new PartitionOptions { ProcessorCount = processors });
        ulong availableBefore = KvmMemoryGuard.ReadMemAvailable();
        ulong largest = KvmMemoryGuard.LargestAffordable(availableBefore);
        output.WriteLine($"MemAvailable {KvmMemoryGuard.Format(availableBefore)}; largest affordable slot {KvmMemoryGuard.Format(largest)}");
        // Guard the guard: this test only makes sense where 12 TB is unaffordable; never try it where it would be accepted.
        if (TwelveTerabytes <= largest)
        {
            output.WriteLine("This host could afford 12 TB; the refusal is proven by the unit tests of KvmMemoryGuard instead.");
            return;
        }

        using var huge = GuestMemory.Allocate(TwelveTerabytes); // address space only: MAP_NORESERVE, nothing touched
        var ex = Assert.Throws<HypervisorException>(() => partition.MapMemory(new MemorySlot(0, 0, huge, 0, TwelveTerabytes)));
        output.WriteLine(ex.Message);
        Assert.Contains("refused", ex.Message);
        Assert.Contains("largest slot this host can take", ex.Message);

        // 12 TB in slots below the 8 TiB cap is refused too while any one of them costs more than the host can spare.
        // (Only sizes the guard refuses are tried here: an accepted multi-TiB slot would really cost gigabytes.)
        ulong piece = TwelveTerabytes / 2 & ~0xFFFUL;
        if (piece > largest)
            Assert.Contains("refused", Assert.Throws<HypervisorException>(() => partition.MapMemory(new MemorySlot(1, 0, huge, 0, piece))).Message);

        // No harm: memory is still there and the partition still takes a small slot and runs.
        ulong availableAfter = KvmMemoryGuard.ReadMemAvailable();
        Assert.True(availableAfter + (1UL << 30) > availableBefore, $"MemAvailable fell from {availableBefore} to {availableAfter}");
        partition.MapMemory(new MemorySlot(2, 0, huge, 0, 0x200000));
    }

    [Fact]
    public void Guard_Estimate_RefusesOverHalfOfAvailable_AndOverPerSlotCap()
    {
        const ulong GiB = 1UL << 30, TiB = 1UL << 40;
        Assert.Equal(2 * GiB + KvmMemoryGuard.SlotMargin, KvmMemoryGuard.EstimateCost(TiB));
        Assert.Null(KvmMemoryGuard.Evaluate(0, 1 * TiB, 24 * GiB));         // 2 GiB of 12 spare
        string? refusal = KvmMemoryGuard.Evaluate(0, 12 * TiB, 24 * GiB);  // 24 GiB of 12 spare
        Assert.NotNull(refusal);
        Assert.Contains("largest slot this host can take now is 6 TiB", refusal);
        Assert.Contains("below 8 TiB", KvmMemoryGuard.Evaluate(0, 8 * TiB, 1024 * GiB));
        Assert.NotNull(KvmMemoryGuard.Evaluate(0, 4096, 0));               // unreadable meminfo refuses everything
    }
}
