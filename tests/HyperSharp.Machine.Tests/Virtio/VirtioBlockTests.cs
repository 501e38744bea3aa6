using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Virtio.Block;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Virtio;

public class VirtioBlockTests(ITestOutputHelper output)
{
    private static void Header(TestDriver d, ulong at, uint type, ulong sector)
    {
        var h = d.Ram.GetSpan(at, 16);
        h.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sector);
    }

    private static string TempVhdx(out string dir)
    {
        dir = Directory.CreateTempSubdirectory("hs-vblk").FullName;
        return Path.Combine(dir, "disk.vhdx");
    }

    [Fact]
    public void WritesReadsFlushesAndDiscardsReachTheVhdx()
    {
        using var d = new TestDriver();
        string path = TempVhdx(out string dir);
        try
        {
            using var disk = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = 32 << 20, BlockSize = 1 << 20 });
            var handler = new VirtioBlockRequestHandler(d.Ram, disk, "hs-disk-0");
            var queue = d.Queue();
            var payload = new byte[8192];
            new Random(1).NextBytes(payload);
            d.Ram.Write(TestDriver.Data + 0x1000, payload);
            Header(d, TestDriver.Data, 1 /* OUT */, 2048);
            d.Post((TestDriver.Data, 16, false), (TestDriver.Data + 0x1000, 4096, false), (TestDriver.Data + 0x2000, 4096, false), (TestDriver.Data + 0x3000, 1, true));
            Header(d, TestDriver.Data + 0x4000, 4 /* FLUSH */, 0);
            d.Post((TestDriver.Data + 0x4000, 16, false), (TestDriver.Data + 0x4100, 1, true));
            Header(d, TestDriver.Data + 0x5000, 0 /* IN */, 2048);
            d.Post((TestDriver.Data + 0x5000, 16, false), (TestDriver.Data + 0x6000, 8192, true), (TestDriver.Data + 0x8000, 1, true));
            Header(d, TestDriver.Data + 0x9000, 8 /* GET_ID */, 0);
            d.Post((TestDriver.Data + 0x9000, 16, false), (TestDriver.Data + 0x9100, 20, true), (TestDriver.Data + 0x9200, 1, true));
            int served = 0;
            var chain = new DescriptorChain();
            while (queue.TryPop(chain)) { queue.Push(chain.Head, handler.Execute(chain)); served++; }
            Assert.Equal(4, served);
            Assert.Equal(4, d.UsedIndex);
            Assert.Equal(0, d.Ram.Read<byte>(TestDriver.Data + 0x3000));
            Assert.Equal(0, d.Ram.Read<byte>(TestDriver.Data + 0x4100));
            Assert.Equal(0, d.Ram.Read<byte>(TestDriver.Data + 0x8000));
            Assert.Equal(payload, d.Ram.GetSpan(TestDriver.Data + 0x6000, 8192).ToArray());
            Assert.Equal((6u, 8193u), d.UsedElement(2)); // the IN request (head descriptor 6) wrote 8192 bytes plus the status byte
            Assert.Equal("hs-disk-0", System.Text.Encoding.ASCII.GetString(d.Ram.GetSpan(TestDriver.Data + 0x9100, 9)));
            var back = new byte[8192];
            disk.Read(2048 * 512, back);
            Assert.Equal(payload, back);
            // DISCARD one sector range; it then reads zeros.
            Header(d, TestDriver.Data + 0xA000, 11, 0);
            var seg = d.Ram.GetSpan(TestDriver.Data + 0xA100, 16);
            BinaryPrimitives.WriteUInt64LittleEndian(seg, 2048);
            BinaryPrimitives.WriteUInt32LittleEndian(seg[8..], 16);
            d.Post((TestDriver.Data + 0xA000, 16, false), (TestDriver.Data + 0xA100, 16, false), (TestDriver.Data + 0xA200, 1, true));
            Assert.True(queue.TryPop(chain));
            queue.Push(chain.Head, handler.Execute(chain));
            Assert.Equal(0, d.Ram.Read<byte>(TestDriver.Data + 0xA200));
            disk.Read(2048 * 512, back);
            Assert.All(back, b => Assert.Equal(0, b));
            // Beyond the end of the disk: IOERR, not an exception.
            Header(d, TestDriver.Data + 0xB000, 0, 1UL << 40);
            d.Post((TestDriver.Data + 0xB000, 16, false), (TestDriver.Data + 0xC000, 512, true), (TestDriver.Data + 0xD000, 1, true));
            Assert.True(queue.TryPop(chain));
            handler.Execute(chain);
            Assert.Equal(1, d.Ram.Read<byte>(TestDriver.Data + 0xD000));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void HostileChainsAreRefusedAsQueueErrors()
    {
        using var d = new TestDriver(8);
        var q = d.Queue();
        d.SetDescriptor(0, TestDriver.Data, 16, 1, 1);
        d.SetDescriptor(1, TestDriver.Data, 16, 1, 0); // 0 -> 1 -> 0: a loop
        d.PublishHead(0);
        Assert.Contains("loops", Assert.Throws<VirtqueueException>(() => q.TryPop(new DescriptorChain())).Message);
        d.SetDescriptor(2, 0xFFFF_FFFF_0000, 16, 0, 0); // far outside 16 MiB of RAM
        d.PublishHead(2);
        Assert.Contains("not inside guest RAM", Assert.Throws<VirtqueueException>(() => q.TryPop(new DescriptorChain())).Message);
        d.PublishHead(9); // head outside the table
        Assert.Contains("outside a table", Assert.Throws<VirtqueueException>(() => q.TryPop(new DescriptorChain())).Message);
        Assert.Throws<VirtqueueException>(() => new SplitVirtqueue(d.Ram, 8, 0xFFFF_0000_0000, TestDriver.Avail, TestDriver.Used, false));
    }

    [Fact]
    public void FuzzedQueuesNeverEscapeAsAnythingButQueueErrors()
    {
        string path = TempVhdx(out string dir);
        int seed = Environment.GetEnvironmentVariable("HS_FUZZ_SEED") is string s ? int.Parse(s) : 20261127;
        var rng = new Random(seed);
        int cases = 0, refused = 0, served = 0;
        var sw = Stopwatch.StartNew();
        try
        {
            using var disk = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = 8 << 20, BlockSize = 1 << 20 });
            using var d = new TestDriver(16);
            var handler = new VirtioBlockRequestHandler(d.Ram, disk, "fuzz");
            for (; cases < 3000; cases++)
            {
                // Random descriptors mostly pointing into RAM, sometimes anywhere; random flags and links.
                for (ushort i = 0; i < 16; i++)
                {
                    ulong address = rng.Next(4) == 0 ? (ulong)rng.NextInt64() : TestDriver.Data + (ulong)rng.Next(0, 1 << 20);
                    d.SetDescriptor(i, address, (uint)(rng.Next(3) == 0 ? rng.Next() : rng.Next(0, 9000)), (ushort)rng.Next(0, 8), (ushort)rng.Next(0, 20));
                }
                var header = d.Ram.GetSpan(TestDriver.Data + (ulong)rng.Next(0, 1 << 20) / 16 * 16, 16);
                rng.NextBytes(header);
                var q = d.Queue();
                d.Ram.Write(TestDriver.Avail + 2, BitConverter.GetBytes((ushort)rng.Next(0, 40)));
                for (int k = 0; k < 16; k++) d.Ram.Write(TestDriver.Avail + 4 + 2UL * (ulong)k, BitConverter.GetBytes((ushort)rng.Next(0, 20)));
                try
                {
                    var chain = new DescriptorChain();
                    while (q.TryPop(chain)) { q.Push(chain.Head, handler.Execute(chain)); served++; }
                }
                catch (VirtqueueException) { refused++; }
            }
        }
        finally { Directory.Delete(dir, true); }
        output.WriteLine($"seed {seed}: {cases} fuzzed queues in {sw.ElapsedMilliseconds} ms, {served} requests served, {refused} queues marked broken");
        Assert.True(refused > 0 && served > 0, "the fuzzer should reach both outcomes");
    }
}
