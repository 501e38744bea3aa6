using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Machine.Virtio.Rng;

namespace HyperSharp.Machine.Tests.Virtio;

public class VirtioRngTests
{
    private sealed class CountingInterrupts : IVirtioInterrupts
    {
        public int Queue;
        public void QueueInterrupt(int queue) => Queue++;
        public void ConfigChanged() { }
    }

    [Fact]
    public void FillsWritableBuffersWithEntropyAndSkipsReadableOnes()
    {
        using var d = new TestDriver(8);
        var rng = new VirtioRngDevice("rng0", d.Ram);
        var irq = new CountingInterrupts();
        rng.Activate(1UL << 32, [d.Queue()], irq);
        d.Ram.GetSpan(TestDriver.Data, 4096).Clear();
        d.Post((TestDriver.Data, 64, true), (TestDriver.Data + 0x100, 32, true));
        d.Post((TestDriver.Data + 0x200, 16, false));                     // nothing to fill
        rng.ProcessQueue(0);
        Assert.Equal(2, d.UsedIndex);
        Assert.Equal(96u, d.UsedElement(0).Length);
        Assert.Equal(0u, d.UsedElement(1).Length);
        Assert.True(d.Ram.GetSpan(TestDriver.Data, 64).ContainsAnyExcept((byte)0));
        Assert.Equal(1, irq.Queue);
    }
}
