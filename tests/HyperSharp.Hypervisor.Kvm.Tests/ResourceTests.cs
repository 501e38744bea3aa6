namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>Disposing a partition with processors, triggers and doorbells closes every file descriptor it opened.</summary>
public sealed class ResourceTests(ITestOutputHelper output)
{
    private static int OpenFds() => Directory.GetFiles("/proc/self/fd").Length;

    [Fact]
    public void Dispose_ClosesEveryDescriptor()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using (var warm = new TestGuest(hv)) warm.Partition.CreateProcessor(0).Dispose(); // first use caches CPUID and MSR lists

        int before = OpenFds();
        using (var ev = new GuestEvent())
        using (var guest = new TestGuest(hv, new PartitionOptions { ProcessorCount = 4 }))
        {
            for (int i = 0; i < 4; i++) guest.Partition.CreateProcessor(i);
            guest.Partition.CreateInterruptTrigger(3);
            guest.Partition.CreateMsiTrigger(0xFEE0_0000, 0x30);
            guest.Partition.RegisterDoorbell(new Doorbell(AddressSpace.Port, 0x600, 1), ev);
            Assert.True(OpenFds() >= before + 7); // VM, 4 vCPUs, 2 irqfds, the doorbell's event
        } // partition Dispose releases processors, triggers and doorbells it still holds
        Assert.Equal(before, OpenFds());
    }
}
