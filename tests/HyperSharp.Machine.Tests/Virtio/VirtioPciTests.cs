using System.Buffers.Binary;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Pci;
using HyperSharp.Machine.Tests.Devices;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Block;
using HyperSharp.Machine.Virtio.Pci;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Machine.Tests.Virtio;

/// <summary>Drives virtio-blk through PCI the way Linux's virtio_pci_modern does: capabilities, BAR, handshake, queue, notify, MSI-X.</summary>
public class VirtioPciTests
{
    private sealed class Msis : IMsiSink
    {
        public readonly List<(ulong, uint)> Sent = [];
        public void Signal(ulong address, uint data) { lock (Sent) Sent.Add((address, data)); }
    }

    private const ulong BarBase = 0xC000_0000;

    /// <summary>What a backend's doorbell registry holds: the address the device asked for and the event it waits on.</summary>
    private sealed class Doorbells
    {
        public readonly List<(HyperSharp.Hypervisor.Doorbell Bell, HyperSharp.Hypervisor.GuestEvent Event)> Registered = [];
        public IDisposable Register(HyperSharp.Hypervisor.Doorbell bell, HyperSharp.Hypervisor.GuestEvent ev)
        {
            lock (Registered) Registered.Add((bell, ev));
            return new Removal(() => { lock (Registered) Registered.RemoveAll(r => r.Event == ev); });
        }
        private sealed class Removal(Action remove) : IDisposable { public void Dispose() => remove(); }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LinuxStyleDriverWritesThroughTheQueueAndGetsMsixAndResizeNotices(bool queueThreads)
    {
        string dir = Directory.CreateTempSubdirectory("hs-vpci").FullName;
        try
        {
            using var drv = new TestDriver(64);
            using var disk = VhdxDisk.Create(Path.Combine(dir, "d.vhdx"), new DiskCreateOptions { Capacity = 64 << 20, BlockSize = 1 << 20 });
            var errors = new DeviceErrorLog(_ => { });
            var mmio = new IoBus<IMmioDevice>("mmio", errors);
            var ports = new IoBus<IPortIoDevice>("ports", errors);
            var root = new PciRoot(mmio, ports);
            var msis = new Msis();
            var blk = new VirtioBlockDevice("vblk0", disk, drv.Ram, queueCount: 1);
            var doorbells = new Doorbells();
            using var pci = new VirtioPciDevice(blk, drv.Ram, msis, new RecordingLine(), doorbells: queueThreads ? doorbells.Register : null);
            root.Add(3, pci);

            // Enumerate like the kernel: vendor/device, then walk the capability list.
            Span<byte> b4 = stackalloc byte[4];
            root.ReadConfig(0, 3, 0, 0, b4);
            Assert.Equal(0x1AF4, BinaryPrimitives.ReadUInt16LittleEndian(b4));
            Assert.Equal(0x1042, BinaryPrimitives.ReadUInt16LittleEndian(b4[2..]));
            var caps = new Dictionary<int, (int CfgOffset, uint BarOffset)>();
            int msixCap = 0;
            Span<byte> cap = stackalloc byte[16];
            root.ReadConfig(0, 3, 0, 0x34, b4[..1]);
            for (int at = b4[0]; at != 0; at = cap[1])
            {
                root.ReadConfig(0, 3, 0, at, cap);
                if (cap[0] == 0x09) caps[cap[3]] = (at, BinaryPrimitives.ReadUInt32LittleEndian(cap[8..]));
                if (cap[0] == 0x11) msixCap = at;
            }
            Assert.Equal([1, 2, 3, 4], caps.Keys.Order().ToArray());
            Assert.NotEqual(0, msixCap);

            // Size and place BAR 0 (64-bit), enable memory decoding and bus mastering.
            root.WriteConfig(0, 3, 0, 0x10, [0xFF, 0xFF, 0xFF, 0xFF]);
            root.ReadConfig(0, 3, 0, 0x10, b4);
            Assert.Equal(~(uint)(VirtioPciLayoutSize - 1) | 4u, BinaryPrimitives.ReadUInt32LittleEndian(b4));
            root.WriteConfig(0, 3, 0, 0x10, BitConverter.GetBytes((uint)BarBase));
            root.WriteConfig(0, 3, 0, 0x14, BitConverter.GetBytes(0u));
            root.WriteConfig(0, 3, 0, 0x04, [0x06, 0x00]);
            ulong common = BarBase + caps[1].BarOffset, notify = BarBase + caps[2].BarOffset, device = BarBase + caps[4].BarOffset;
            void W8(ulong a, byte v) => mmio.Write(a, [v]);
            void W16(ulong a, ushort v) => mmio.Write(a, BitConverter.GetBytes(v));
            void W32(ulong a, uint v) => mmio.Write(a, BitConverter.GetBytes(v));
            uint R32(ulong a) { Span<byte> x = stackalloc byte[4]; mmio.Read(a, x); return BinaryPrimitives.ReadUInt32LittleEndian(x); }
            byte R8(ulong a) { Span<byte> x = stackalloc byte[1]; mmio.Read(a, x); return x[0]; }

            W8(common + 0x14, 0); W8(common + 0x14, 1); W8(common + 0x14, 3);   // reset, ACKNOWLEDGE, DRIVER
            W32(common + 0x00, 1);
            Assert.Equal(1u, R32(common + 0x04) & 1);                           // VERSION_1 offered
            W32(common + 0x08, 0); W32(common + 0x0C, 1u << 9);                 // FLUSH
            W32(common + 0x08, 1); W32(common + 0x0C, 1);                       // VERSION_1
            W8(common + 0x14, 0x0B);
            Assert.Equal(0x0B, R8(common + 0x14));                              // FEATURES_OK stuck: accepted
            Assert.Equal(64UL << 20 >> 9, R32(device) | (ulong)R32(device + 4) << 32); // capacity in sectors
            // MSI-X on; vector 0 = config, vector 1 = queue 0.
            root.WriteConfig(0, 3, 0, msixCap + 3, [0x80]);
            foreach (var (vector, data) in new[] { (0, 0x30u), (1, 0x31u) })
            {
                ulong entry = BarBase + 0x4000 + (ulong)vector * 16;
                W32(entry, 0xFEE0_0000); W32(entry + 4, 0); W32(entry + 8, data); W32(entry + 12, 0);
            }
            W16(common + 0x10, 0);
            W16(common + 0x16, 0); W16(common + 0x18, 64); W16(common + 0x1A, 1);
            W32(common + 0x20, (uint)TestDriver.Desc); W32(common + 0x24, 0);
            W32(common + 0x28, (uint)TestDriver.Avail); W32(common + 0x2C, 0);
            W32(common + 0x30, (uint)TestDriver.Used); W32(common + 0x34, 0);
            W16(common + 0x1C, 1);
            W8(common + 0x14, 0x0F);                                            // DRIVER_OK

            var payload = new byte[4096];
            new Random(5).NextBytes(payload);
            var header = drv.Ram.GetSpan(TestDriver.Data, 16);
            header.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(header, 1);
            BinaryPrimitives.WriteUInt64LittleEndian(header[8..], 100);
            drv.Ram.Write(TestDriver.Data + 0x1000, payload);
            drv.Post((TestDriver.Data, 16, false), (TestDriver.Data + 0x1000, 4096, false), (TestDriver.Data + 0x2000, 1, true));
            if (queueThreads)
            {
                // DRIVER_OK registered queue 0's notify address; the backend signals its event (as an ioeventfd
                // would) and the queue's own thread serves the request, no vCPU involved.
                var (bell, ev) = Assert.Single(doorbells.Registered);
                Assert.Equal(notify, bell.Address);
                ev.Signal();
                // The used index is published before the interrupt is sent: wait for both (the check below raced it).
                bool Delivered() { lock (msis.Sent) return msis.Sent.Contains((0xFEE0_0000UL, 0x31u)); }
                for (int i = 0; i < 500 && (drv.UsedIndex == 0 || !Delivered()); i++) await Task.Delay(10);
            }
            else W16(notify, 0);                                                // kick queue 0 from the "vCPU"
            Assert.Equal(1, drv.UsedIndex);
            Assert.Equal(0, drv.Ram.Read<byte>(TestDriver.Data + 0x2000));
            Assert.Contains((0xFEE0_0000UL, 0x31u), msis.Sent);
            var back = new byte[4096];
            disk.Read(100 * 512, back);
            Assert.Equal(payload, back);

            disk.Resize(128 << 20);                                             // online resize: config interrupt
            Assert.Contains((0xFEE0_0000UL, 0x30u), msis.Sent);
            Assert.Equal(128UL << 20 >> 9, R32(device) | (ulong)R32(device + 4) << 32);
            Assert.Equal(1, R8(common + 0x15));                                 // config generation moved
            W8(common + 0x14, 0);                                               // device reset: the doorbell goes away
            Assert.Empty(doorbells.Registered);
        }
        finally { Directory.Delete(dir, true); }
    }

    private const ulong VirtioPciLayoutSize = 0x8000;

    [Fact]
    public void BrokenQueueMarksTheDeviceNotTheHost()
    {
        using var drv = new TestDriver(8);
        var logs = new List<string>();
        string dir = Directory.CreateTempSubdirectory("hs-vpci").FullName;
        try
        {
            using var disk = VhdxDisk.Create(Path.Combine(dir, "d.vhdx"), new DiskCreateOptions { Capacity = 8 << 20, BlockSize = 1 << 20 });
            var blk = new VirtioBlockDevice("vblk0", disk, drv.Ram, 1);
            var pci = new VirtioPciDevice(blk, drv.Ram, new Msis(), new RecordingLine(), logs.Add);
            var bar = pci.BarDevice(0);
            bar.Write(0x14, [3]);
            bar.Write(0x0C, [0, 0, 0, 0]); bar.Write(0x08, [1, 0, 0, 0]); bar.Write(0x0C, [1, 0, 0, 0]);
            bar.Write(0x14, [0x0B]);
            bar.Write(0x18, [8, 0]);
            bar.Write(0x20, BitConverter.GetBytes(TestDriver.Desc)); bar.Write(0x28, BitConverter.GetBytes(TestDriver.Avail)); bar.Write(0x30, BitConverter.GetBytes(TestDriver.Used));
            bar.Write(0x1C, [1, 0]);
            bar.Write(0x14, [0x0F]);
            drv.SetDescriptor(0, TestDriver.Data, 16, 1, 0); // points at itself
            drv.PublishHead(0);
            bar.Write(0x3000, [0, 0]);
            Span<byte> status = stackalloc byte[1];
            bar.Read(0x14, status);
            Assert.Equal(0x40, status[0] & 0x40); // DEVICE_NEEDS_RESET
            Assert.Contains(logs, l => l.Contains("loops"));
        }
        finally { Directory.Delete(dir, true); }
    }
}
