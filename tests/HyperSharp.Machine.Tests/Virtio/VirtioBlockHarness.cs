using System.Buffers.Binary;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Pci;
using HyperSharp.Machine.Tests.Devices;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Block;
using HyperSharp.Machine.Virtio.Pci;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine.Tests.Virtio;

/// <summary>
/// virtio-blk behind its PCI transport, brought up as a Linux driver does (features, one queue, MSI-X, DRIVER_OK),
/// with requests posted by a <see cref="TestDriver"/> and kicked through the notify register from the test's thread
/// (the vCPU path): what measures a request's cost from the doorbell to the interrupt.
/// </summary>
internal sealed class VirtioBlockHarness : IDisposable
{
    private const ulong BarBase = 0xC000_0000;
    private readonly IoBus<IMmioDevice> _mmio;
    private readonly byte[] _kick = new byte[2];
    private readonly ulong _notify;

    public VirtioBlockHarness(IVirtualDisk disk, ushort queueSize = 64)
    {
        Driver = new TestDriver(queueSize);
        var errors = new DeviceErrorLog(_ => { });
        _mmio = new IoBus<IMmioDevice>("mmio", errors);
        var root = new PciRoot(_mmio, new IoBus<IPortIoDevice>("ports", errors));
        Device = new VirtioBlockDevice("vblk0", disk, Driver.Ram, queueCount: 1);
        Transport = new VirtioPciDevice(Device, Driver.Ram, Msis, new RecordingLine());
        root.Add(3, Transport);
        root.WriteConfig(0, 3, 0, 0x10, BitConverter.GetBytes((uint)BarBase));
        root.WriteConfig(0, 3, 0, 0x14, BitConverter.GetBytes(0u));
        root.WriteConfig(0, 3, 0, 0x04, [0x06, 0x00]);
        ulong common = BarBase; // the layout of VirtioPciLayout: common configuration at 0, notify at 0x3000, MSI-X table at 0x4000
        _notify = BarBase + 0x3000;
        W8(common + 0x14, 0); W8(common + 0x14, 1); W8(common + 0x14, 3);
        W32(common + 0x08, 1); W32(common + 0x0C, 1);                                   // VERSION_1
        W8(common + 0x14, 0x0B);
        root.WriteConfig(0, 3, 0, MsixCapability(root) + 3, [0x80]);                  // MSI-X on
        foreach (var (vector, data) in new[] { (0, 0x30u), (1, 0x31u) })
        {
            ulong entry = BarBase + 0x4000 + (ulong)vector * 16;
            W32(entry, 0xFEE0_0000); W32(entry + 4, 0); W32(entry + 8, data); W32(entry + 12, 0);
        }
        W16(common + 0x10, 0);
        W16(common + 0x16, 0); W16(common + 0x18, queueSize); W16(common + 0x1A, 1);
        W32(common + 0x20, (uint)TestDriver.Desc); W32(common + 0x24, 0);
        W32(common + 0x28, (uint)TestDriver.Avail); W32(common + 0x2C, 0);
        W32(common + 0x30, (uint)TestDriver.Used); W32(common + 0x34, 0);
        W16(common + 0x1C, 1);
        W8(common + 0x14, 0x0F);                                                        // DRIVER_OK
    }

    public TestDriver Driver { get; }
    public VirtioBlockDevice Device { get; }
    public VirtioPciDevice Transport { get; }
    public CountingMsis Msis { get; } = new();

    /// <summary>Rings queue 0's doorbell on this thread (a vCPU's MMIO write), which serves what was posted.</summary>
    public void Kick() => _mmio.Write(_notify, _kick);

    /// <summary>Counts MSI messages without allocating (so it does not count against the device).</summary>
    public sealed class CountingMsis : IMsiSink
    {
        private long _count;
        public long Count => Interlocked.Read(ref _count);
        public void Signal(ulong address, uint data) => Interlocked.Increment(ref _count);
    }

    private static int MsixCapability(PciRoot root)
    {
        Span<byte> cap = stackalloc byte[2];
        root.ReadConfig(0, 3, 0, 0x34, cap[..1]);
        for (int at = cap[0]; at != 0; at = cap[1])
        {
            root.ReadConfig(0, 3, 0, at, cap);
            if (cap[0] == 0x11) return at;
        }
        throw new InvalidOperationException("no MSI-X capability");
    }

    private void W8(ulong a, byte v) => _mmio.Write(a, [v]);
    private void W16(ulong a, ushort v) => _mmio.Write(a, BitConverter.GetBytes(v));
    private void W32(ulong a, uint v) => _mmio.Write(a, BitConverter.GetBytes(v));

    public void Dispose()
    {
        Transport.Dispose();
        Device.Dispose();
        Driver.Dispose();
    }
}
