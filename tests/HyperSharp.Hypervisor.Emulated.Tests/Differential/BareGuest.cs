namespace HyperSharp.Hypervisor.Emulated.Tests.Differential;

/// <summary>A partition for the differential guests: all of <paramref name="memory"/> as RAM at 0, and no interrupt
/// controllers or timer, so nothing asynchronous can reach the programs; processors of <paramref name="vendor"/> (null:
/// the backend's default).</summary>
internal static class BareGuest
{
    public static IPartition Create(IHypervisor hypervisor, GuestMemory memory, ProcessorVendor? vendor = null)
    {
        var partition = hypervisor.CreatePartition(new PartitionOptions { InterruptControllers = false, IntervalTimer = false, Vendor = vendor });
        partition.MapMemory(new MemorySlot(0, 0, memory, 0, memory.Size));
        return partition;
    }
}
