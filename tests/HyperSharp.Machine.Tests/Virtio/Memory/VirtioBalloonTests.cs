using System.Buffers.Binary;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Balloon;

namespace HyperSharp.Machine.Tests.Virtio.Memory;

public class VirtioBalloonTests
{
    private sealed class Interrupts : IVirtioInterrupts
    {
        public readonly List<int> Queues = [];
        public int ConfigChanges;
        public void QueueInterrupt(int queue) => Queues.Add(queue);
        public void ConfigChanged() => ConfigChanges++;
    }

    private const ulong Features = 1UL << 32 | 1UL << 1 | 1UL << 2 | 1UL << 5; // VERSION_1, STATS_VQ, DEFLATE_ON_OOM, PAGE_REPORTING
    private const ulong Pfns = TestDriver.Data, Guest = 0x400000;                // the page list; guest pages from 4 MiB

    /// <summary>Four queues in one guest RAM: inflate, deflate, stats, reporting.</summary>
    private static (TestDriver[] Queues, VirtioBalloonDevice Device, Interrupts Irq) Activate(bool deflateOnOom = true)
    {
        var inflate = new TestDriver(16);
        TestDriver[] drivers = [inflate, new(16, inflate, 1), new(16, inflate, 2), new(16, inflate, 3)];
        var device = new VirtioBalloonDevice("balloon0", inflate.Ram, deflateOnOom);
        var irq = new Interrupts();
        device.Activate(Features, [.. drivers.Select(d => d.Queue())], irq);
        return (drivers, device, irq);
    }

    private static void ListPages(TestDriver d, params uint[] pages)
    {
        for (int i = 0; i < pages.Length; i++) d.Ram.Write(Pfns + 4UL * (ulong)i, pages[i]);
    }

    [Fact]
    public void InflatedPagesGoBackToTheHostAndReadAsZerosDeflateCountsThemBack()
    {
        var (q, balloon, irq) = Activate();
        using var _ = q[0];
        q[0].Ram.GetSpan(Guest, 8 * 4096).Fill(0xAB);
        uint first = (uint)(Guest >> 12);
        ListPages(q[0], first + 3, first, first + 1, first + 5, first + 1); // unordered, one page twice, two runs
        q[0].Post((Pfns, 20, false));
        balloon.ProcessQueue(0);

        Assert.Equal(1, q[0].UsedIndex);
        Assert.Equal([0], irq.Queues);
        foreach (int page in new[] { 0, 1, 3, 5 }) Assert.False(q[0].Ram.GetSpan(Guest + (ulong)page * 4096, 4096).ContainsAnyExcept((byte)0), $"page {page} still holds data");
        foreach (int page in new[] { 2, 4, 6, 7 }) Assert.False(q[0].Ram.GetSpan(Guest + (ulong)page * 4096, 4096).ContainsAnyExcept((byte)0xAB), $"page {page} lost data");
        Assert.Equal(5UL * 4096, balloon.InflatedBytes);

        ListPages(q[1], first, first + 1);
        q[1].Post((Pfns, 8, false));
        balloon.ProcessQueue(1);
        Assert.Equal(1, q[1].UsedIndex);
        Assert.Equal(3UL * 4096, balloon.InflatedBytes);
    }

    [Fact]
    public void PagesOutsideRamAreRefusedWithoutHarm()
    {
        var (q, balloon, _) = Activate();
        using var _d = q[0];
        ListPages(q[0], 0xFFFF_FFF0);
        q[0].Post((Pfns, 4, false));
        balloon.ProcessQueue(0);
        Assert.Equal(1, q[0].UsedIndex); // the buffer still comes back
    }

    [Fact]
    public void TargetIsTheConfigurationAndTheDriverWritesActual()
    {
        var (q, balloon, irq) = Activate();
        using var _ = q[0];
        int changes = 0;
        balloon.Changed += () => changes++;
        balloon.SetTarget(256UL << 20);
        Assert.Equal(1, irq.ConfigChanges);
        Span<byte> config = stackalloc byte[8];
        balloon.ReadConfig(0, config);
        Assert.Equal(65536u, BinaryPrimitives.ReadUInt32LittleEndian(config));
        Span<byte> actual = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(actual, 1000);
        balloon.WriteConfig(4, actual);
        balloon.WriteConfig(0, actual); // num_pages is the device's: ignored
        Assert.Equal(1000UL * 4096, balloon.ActualBytes);
        Assert.Equal(256UL << 20, balloon.TargetBytes);
        Assert.Equal(1, changes);
        Assert.Throws<ArgumentOutOfRangeException>(() => balloon.SetTarget(1UL << 50));
        Assert.Equal(Features & ~(1UL << 2), new VirtioBalloonDevice("b", q[0].Ram, deflateOnOom: false).DeviceFeatures);
    }

    private static void WriteStats(TestDriver d, ulong address, params (ushort Tag, ulong Value)[] stats)
    {
        for (int i = 0; i < stats.Length; i++)
        {
            var e = d.Ram.GetSpan(address + 10UL * (ulong)i, 10);
            BinaryPrimitives.WriteUInt16LittleEndian(e, stats[i].Tag);
            BinaryPrimitives.WriteUInt64LittleEndian(e[2..], stats[i].Value);
        }
    }

    [Fact]
    public void StatisticsArriveAndTheHeldBufferGoesBackToAskForTheNext()
    {
        var (q, balloon, irq) = Activate();
        using var _ = q[0];
        Assert.False(balloon.RequestStatistics()); // no buffer from the driver yet
        WriteStats(q[2], Pfns, (5, 512UL << 20), (4, 300UL << 20), (6, 400UL << 20), (99, 1));
        q[2].Post((Pfns, 40, false));
        balloon.ProcessQueue(2);
        Assert.Equal(0, q[2].UsedIndex); // held: returning it is how the device asks for the next report
        var s = balloon.Statistics!;
        Assert.Equal(512UL << 20, s.TotalBytes);
        Assert.Equal(300UL << 20, s.FreeBytes);
        Assert.Equal(400UL << 20, s.AvailableBytes);
        Assert.Null(s.SwapIn);

        Assert.True(balloon.RequestStatistics());
        Assert.Equal(1, q[2].UsedIndex);
        Assert.Contains(2, irq.Queues);
        Assert.False(balloon.RequestStatistics()); // the driver has not answered yet

        WriteStats(q[2], Pfns, (4, 100UL << 20));
        q[2].Post((Pfns, 10, false));
        Assert.True(balloon.RequestStatistics()); // picks up the new report first, then returns its buffer
        Assert.Equal(100UL << 20, balloon.Statistics!.FreeBytes);
        Assert.Equal(2, q[2].UsedIndex);
    }

    [Fact]
    public void ReportedFreePagesGoBackToTheHostAndStayTheGuests()
    {
        var (q, balloon, irq) = Activate();
        using var _ = q[0];
        q[0].Ram.GetSpan(Guest, 16 * 4096).Fill(0xCD);
        q[3].Post((Guest, 8 * 4096, true), (Guest + 12 * 4096, 2 * 4096, true));
        balloon.ProcessQueue(3);
        Assert.Equal(1, q[3].UsedIndex);
        Assert.Equal([3], irq.Queues);
        Assert.Equal(10UL * 4096, balloon.ReportedBytes);
        Assert.False(q[0].Ram.GetSpan(Guest, 8 * 4096).ContainsAnyExcept((byte)0));
        Assert.False(q[0].Ram.GetSpan(Guest + 8 * 4096, 4 * 4096).ContainsAnyExcept((byte)0xCD));
        Assert.Equal(0UL, balloon.InflatedBytes); // reported pages are not in the balloon
    }

    [Fact]
    public void WithoutStatisticsTheReportingQueueMovesUp()
    {
        var (q, _, _) = Activate();
        using var _d = q[0];
        var balloon = new VirtioBalloonDevice("balloon0", q[0].Ram);
        var irq = new Interrupts();
        balloon.Activate(1UL << 32 | 1UL << 5, [q[0].Queue(), q[1].Queue(), q[2].Queue()], irq);
        q[2].Post((Guest, 4096, true));
        balloon.ProcessQueue(2);
        Assert.Equal(4096UL, balloon.ReportedBytes);
    }

    [Fact]
    public void StateRoundTripsWithTheHeldStatisticsBuffer()
    {
        var (q, balloon, _) = Activate();
        using var _ = q[0];
        balloon.SetTarget(64UL << 20);
        uint first = (uint)(Guest >> 12);
        ListPages(q[0], first, first + 1);
        q[0].Post((Pfns, 8, false));
        balloon.ProcessQueue(0);
        Span<byte> actual = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(actual, 2);
        balloon.WriteConfig(4, actual);
        WriteStats(q[2], Pfns + 0x1000, (4, 7));
        ushort head = q[2].Post((Pfns + 0x1000, 10, false));
        balloon.ProcessQueue(2);

        var w = new HyperSharp.Hypervisor.State.StateWriter();
        balloon.SaveState().Write(w);
        var r = new HyperSharp.Hypervisor.State.StateReader(w.WrittenSpan, "balloon");
        var state = VirtioBalloonState.Read(ref r, VirtioBalloonState.Version);

        var restored = new VirtioBalloonDevice("balloon0", q[0].Ram);
        restored.Activate(Features, [.. q.Select(d => d.Queue())], new Interrupts());
        restored.RestoreState(state);
        Assert.Equal(64UL << 20, restored.TargetBytes);
        Assert.Equal(2UL * 4096, restored.ActualBytes);
        Assert.Equal(2UL * 4096, restored.InflatedBytes);
        Assert.True(restored.RequestStatistics()); // the restored device still holds the driver's buffer
        Assert.Equal(head, (ushort)q[2].UsedElement(0).Id);
    }
}
