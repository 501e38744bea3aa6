using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Machine.Storage;
using HyperSharp.Machine.Virtio.Block;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Virtio;

public class StorageQosTests(ITestOutputHelper output)
{
    private sealed class Clock
    {
        public long Now = 1_000_000;
        public void Advance(TimeSpan t) => Now += (long)(t.TotalSeconds * Stopwatch.Frequency);
    }

    [Fact]
    public void A_request_costs_one_unit_per_started_8_KiB()
    {
        Assert.Equal(1, StorageQos.Cost(0));
        Assert.Equal(1, StorageQos.Cost(512));
        Assert.Equal(1, StorageQos.Cost(8192));
        Assert.Equal(2, StorageQos.Cost(8193));
        Assert.Equal(128, StorageQos.Cost(1 << 20));
    }

    [Fact]
    public void The_maximum_lets_a_tenth_of_a_second_through_then_paces_requests_at_the_rate()
    {
        var clock = new Clock();
        var qos = new StorageQos(() => clock.Now);
        qos.Set(maximum: 100, minimum: 0);
        int started = 0;
        while (qos.MayStart(out _)) { qos.Charge(8192, 0); started++; }
        Assert.Equal(10, started);
        Assert.False(qos.MayStart(out var wait));
        Assert.InRange(wait.TotalMilliseconds, 9, 11);
        clock.Advance(wait);
        Assert.True(qos.MayStart(out _));
        // A large request runs whole on the last token and leaves a debt the next ones wait for: 128 units at 100/s.
        qos.Charge(1 << 20, 0);
        Assert.False(qos.MayStart(out wait));
        Assert.InRange(wait.TotalSeconds, 1.26, 1.30);
        // Idle time refills only up to the burst, not beyond.
        clock.Advance(TimeSpan.FromMinutes(1));
        started = 0;
        while (qos.MayStart(out _)) { qos.Charge(4096, 0); started++; }
        Assert.Equal(10, started);
    }

    [Fact]
    public void A_busy_disk_that_gets_less_than_its_minimum_is_reported_once_per_window()
    {
        var clock = new Clock();
        var qos = new StorageQos(() => clock.Now);
        var reports = new List<(long Units, TimeSpan Window)>();
        qos.BelowMinimum = (units, window) => reports.Add((units, window));
        qos.Set(maximum: 0, minimum: 100);
        long busyPerRequest = Stopwatch.Frequency / 10; // each request keeps the device busy 100 ms: 10 per second at best
        for (int i = 0; i < 60; i++) { clock.Advance(TimeSpan.FromMilliseconds(100)); qos.Charge(8192, busyPerRequest); }
        Assert.Single(reports); // the second window is not over yet
        Assert.InRange(reports[0].Units, 49, 51);
        Assert.InRange(reports[0].Window.TotalSeconds, 4.9, 5.1);
        // An idle disk below its minimum has no demand to meet: nothing to report.
        qos.Set(maximum: 0, minimum: 100);
        reports.Clear();
        for (int i = 0; i < 12; i++) { clock.Advance(TimeSpan.FromSeconds(1)); qos.Charge(8192, 0); }
        Assert.Empty(reports);
    }

    [Fact]
    public void A_maximum_below_the_minimum_is_refused_naming_both()
    {
        var qos = new StorageQos();
        var e = Assert.Throws<ArgumentException>(() => qos.Set(maximum: 50, minimum: 100));
        Assert.Contains("50", e.Message);
        Assert.Contains("100", e.Message);
        qos.Set(maximum: 0, minimum: 100); // no maximum: any minimum
    }

    [Theory]
    [InlineData(0)]
    [InlineData(50)]
    public void The_device_paces_a_queue_without_holding_the_thread_that_rang_the_doorbell(long maximum)
    {
        const int Requests = 20; // three descriptors each: 60 of the queue's 64
        string dir = Directory.CreateTempSubdirectory("hs-qos").FullName;
        try
        {
            using var disk = VhdxDisk.Create(Path.Combine(dir, "d.vhdx"), new DiskCreateOptions { Capacity = 16 << 20, BlockSize = 1 << 20 });
            using var harness = new VirtioBlockHarness(disk, queueSize: 64);
            harness.Device.Qos.Set(maximum, 0);
            var d = harness.Driver;
            for (int i = 0; i < Requests; i++)
            {
                ulong at = TestDriver.Data + (ulong)i * 0x4000;
                var h = d.Ram.GetSpan(at, 16);
                h.Clear();
                BinaryPrimitives.WriteUInt32LittleEndian(h, VirtioBlk.Out);
                BinaryPrimitives.WriteUInt64LittleEndian(h[8..], (ulong)i * 16);
                d.Post((at, 16, false), (at + 0x1000, 8192, false), (at + 0x3000, 1, true));
            }
            var watch = Stopwatch.StartNew();
            harness.Kick();
            var kick = watch.Elapsed;
            int afterKick = d.UsedIndex;
            output.WriteLine($"maximum {maximum}: {afterKick} requests done in the doorbell's {kick.TotalMilliseconds:F1} ms");
            var deadline = TimeSpan.FromSeconds(30);
            while (d.UsedIndex < Requests && watch.Elapsed < deadline) Thread.Sleep(5);
            var all = watch.Elapsed;
            output.WriteLine($"all {Requests} done after {all.TotalMilliseconds:F0} ms");
            Assert.Equal(Requests, d.UsedIndex);
            if (maximum == 0)
            {
                Assert.Equal(Requests, afterKick);
                return;
            }
            // The burst (a tenth of a second's worth), plus what the time the doorbell took refilled.
            Assert.InRange(afterKick, 5, 5 + (int)Math.Ceiling(kick.TotalSeconds * maximum));
            Assert.True(kick < TimeSpan.FromMilliseconds(250), "the doorbell's thread waited for the limit"); // it never sleeps
            Assert.True(all >= TimeSpan.FromSeconds(0.27), $"15 requests past the burst at 50 IOPS took only {all.TotalMilliseconds:F0} ms");
        }
        finally { Directory.Delete(dir, true); }
    }
}
