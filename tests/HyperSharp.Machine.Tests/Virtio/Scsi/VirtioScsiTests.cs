using System.Buffers.Binary;
using System.Text;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Vhdx;
using static HyperSharp.Machine.Tests.Virtio.Scsi.ScsiInitiator;

namespace HyperSharp.Machine.Tests.Virtio.Scsi;

/// <summary>The virtio-scsi controller answering the commands Linux's sd and scsi scan send, with the sense data SPC/SBC require.</summary>
public sealed class VirtioScsiTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hs-vscsi").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private IVirtualDisk NewDisk(long capacity, string name = "d.vhdx", int logicalSector = 512, int blockSize = 1 << 20) =>
        VirtualDisk.Create(Path.Combine(_dir, name), new DiskCreateOptions { Capacity = capacity, BlockSize = blockSize, LogicalSectorSize = logicalSector });

    [Fact]
    public void TheTargetAnswersForEmptyLunsAndReportsThePresentOnes()
    {
        using var i = new ScsiInitiator();
        using var a = NewDisk(8 << 20, "a.vhdx");
        using var b = NewDisk(8 << 20, "b.vhdx");
        i.Device.Attach(3, a);
        i.Device.Attach(63, b);
        var empty = i.Command(Cdb(0x12, 0, 0, 0, 96, 0), 96, lun: 0);
        Assert.Equal((0, 0), (empty.Response, empty.Status));
        Assert.Equal(0x7F, empty.Data[0]); // peripheral qualifier 3: no LU here, but the target answers (Linux then asks REPORT LUNS)
        Assert.Equal(6, empty.Data[2]);
        var luns = i.Command(Cdb(0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0), 256, lun: 0);
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32BigEndian(luns.Data));
        Assert.Equal(new byte[] { 0, 3, 0, 0, 0, 0, 0, 0, 0, 63, 0, 0, 0, 0, 0, 0 }, luns.Data[8..24]);
        Assert.Equal(256u - 24, luns.Residual);
        var disk = i.Command(Cdb(0x12, 0, 0, 0, 36, 0), 36, lun: 3);
        Assert.Equal(0, disk.Data[0]);
        Assert.Equal("HYPERSHP", Encoding.ASCII.GetString(disk.Data, 8, 8));
        var tur = i.Command(Cdb(0, 0, 0, 0, 0, 0), lun: 5);
        Assert.Equal(2, tur.Status);
        Assert.Equal((5, 0x25, 0), tur.SenseCode); // ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED
        Assert.Equal(2, i.Command(Cdb(0, 0, 0, 0, 0, 0), lun: 300).Status); // beyond the 64: no LU either
        Assert.Equal(3, i.Command(Cdb(0, 0, 0, 0, 0, 0), lun: 3, target: 1).Response); // BAD_TARGET: one target per controller
    }

    [Fact]
    public void VpdPagesDescribeAThinDiskWithUnmapAndBlockLimits()
    {
        using var i = new ScsiInitiator();
        using var d = NewDisk(64 << 20, logicalSector: 4096);
        i.Device.Attach(0, d, serial: "SER-1");
        var list = i.Command(Cdb(0x12, 1, 0x00, 0, 255, 0), 255);
        Assert.Equal(new byte[] { 0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2 }, list.Data[4..(4 + list.Data[3])]);
        var serial = i.Command(Cdb(0x12, 1, 0x80, 0, 255, 0), 255);
        Assert.Equal("SER-1", Encoding.ASCII.GetString(serial.Data, 4, serial.Data[3]));
        var id = i.Command(Cdb(0x12, 1, 0x83, 0, 255, 0), 255);
        Assert.Equal("HYPERSHPSER-1", Encoding.ASCII.GetString(id.Data, 8, id.Data[7]));
        var limits = i.Command(Cdb(0x12, 1, 0xB0, 0, 255, 0), 255);
        Assert.Equal((32u << 20) / 4096, BinaryPrimitives.ReadUInt32BigEndian(limits.Data.AsSpan(8)));
        Assert.True(BinaryPrimitives.ReadUInt32BigEndian(limits.Data.AsSpan(20)) > 0); // maximum UNMAP LBA count
        var lbp = i.Command(Cdb(0x12, 1, 0xB2, 0, 255, 0), 255);
        Assert.Equal(0xE4, lbp.Data[5]); // LBPU, LBPWS, LBPWS10, LBPRZ
        var rc16 = i.Command(Cdb(0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0), 32);
        Assert.Equal((64UL << 20) / 4096 - 1, BinaryPrimitives.ReadUInt64BigEndian(rc16.Data));
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32BigEndian(rc16.Data.AsSpan(8)));
        Assert.Equal(0xC0, rc16.Data[14] & 0xC0); // LBPME, LBPRZ
        Assert.Equal((5, 0x24, 0), i.Command(Cdb(0x12, 1, 0x89, 0, 255, 0), 255).SenseCode); // ATA information is not offered
        var ws16 = i.Command(Cdb(0xA3, 0x0C, 0x01, 0x93, 0, 0, 0, 0, 0, 64, 0, 0), 64);
        Assert.Equal(3, ws16.Data[1] & 7); // WRITE SAME (16) supported
    }

    [Fact]
    public void A64TerabyteDiskReadsAndWritesItsLastBlockAndRefusesTheOneAfter()
    {
        using var i = new ScsiInitiator();
        using var d = NewDisk(64L << 40, "big.vhdx", blockSize: 32 << 20);
        i.Device.Attach(0, d);
        var rc10 = i.Command(Cdb(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), 8);
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(rc10.Data)); // too big: the guest must use READ CAPACITY (16)
        ulong last = (64UL << 40) / 512 - 1;
        var payload = Encoding.ASCII.GetBytes("the last sector of 64 TB".PadRight(512, '.'));
        var w = i.Command(Read16(last, 1, 0x8A), dataOut: payload);
        Assert.Equal((0, 0), (w.Response, w.Status));
        var r = i.Command(Read16(last, 1), 512);
        Assert.Equal(payload, r.Data);
        var back = new byte[512];
        d.Read((long)last * 512, back);
        Assert.Equal(payload, back);
        var beyond = i.Command(Read16(last, 2), 1024);
        Assert.Equal((5, 0x21, 0), beyond.SenseCode); // LOGICAL BLOCK ADDRESS OUT OF RANGE
        Assert.Equal(1024u, beyond.Residual);
    }

    [Fact]
    public void ReadOnlyLunsRefuseWritesAndShowWriteProtect()
    {
        using var i = new ScsiInitiator();
        using var d = NewDisk(8 << 20);
        i.Device.Attach(1, d, readOnly: true);
        var w = i.Command(Read16(0, 1, 0x8A), dataOut: new byte[512], lun: 1);
        Assert.Equal((7, 0x27, 0), w.SenseCode); // DATA PROTECT, WRITE PROTECTED
        Assert.Equal((7, 0x27, 0), i.Command(Cdb(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0), dataOut: new byte[24], lun: 1).SenseCode);
        var sense6 = i.Command(Cdb(0x1A, 0, 0x3F, 0, 255, 0), 255, lun: 1);
        Assert.Equal(0x80, sense6.Data[2] & 0x80); // WP
        var sense10 = i.Command(Cdb(0x5A, 0x08, 0x08, 0, 0, 0, 0, 0, 255, 0), 255, lun: 1);
        Assert.Equal(0x80, sense10.Data[3] & 0x80);
        Assert.Equal(0x08, sense10.Data[8]); // the caching page, right after the header (no block descriptor with DBD)
        Assert.Equal(0x04, sense10.Data[10] & 0x04); // WCE
    }

    [Fact]
    public void UnmapAndWriteSameReleaseTheBlocksOfTheVhdx()
    {
        using var i = new ScsiInitiator();
        using var d = NewDisk(16 << 20);
        i.Device.Attach(0, d);
        var data = new byte[1 << 20];
        new Random(3).NextBytes(data);
        Assert.Equal(0, i.Command(Read16(2048, 2048, 0x8A), dataOut: data).Status);
        Assert.Equal(0, i.Command(Read16(4096, 2048, 0x8A), dataOut: data).Status);
        Assert.Equal(ExtentState.Data, d.GetExtent(1 << 20).State);
        var list = new byte[24];
        BinaryPrimitives.WriteUInt16BigEndian(list, 22);
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(2), 16);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), 2048);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(16), 2048);
        Assert.Equal(0, i.Command(Cdb(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0), dataOut: list).Status);
        Assert.Equal(ExtentState.Zero, d.GetExtent(1 << 20).State);
        var ws = new byte[16];
        ws[0] = 0x93; ws[1] = 0x08; // WRITE SAME (16) with UNMAP
        BinaryPrimitives.WriteUInt64BigEndian(ws.AsSpan(2), 4096);
        BinaryPrimitives.WriteUInt32BigEndian(ws.AsSpan(10), 2048);
        Assert.Equal(0, i.Command(ws, dataOut: new byte[512]).Status);
        Assert.Equal(ExtentState.Zero, d.GetExtent(2 << 20).State);
        Assert.All(i.Command(Read16(4096, 8), 4096).Data, b => Assert.Equal(0, b));
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(16), 1u << 30); // more than the block limits allow
        Assert.Equal((5, 0x26, 0), i.Command(Cdb(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0), dataOut: list).SenseCode);
    }

    [Fact]
    public async Task LunsComeAndGoThroughTransportResetEventsAndAResizeThroughAParameterChange()
    {
        using var i = new ScsiInitiator();
        i.PostEventBuffers(2);
        using var a = NewDisk(8 << 20, "a.vhdx");
        using var b = NewDisk(8 << 20, "b.vhdx");
        using var c = NewDisk(8 << 20, "c.vhdx");
        i.Device.Attach(7, a);
        i.Device.Attach(8, b);
        i.Device.Attach(9, c); // no buffer left: it waits
        Assert.Equal([(1u, 7, 1u), (1u, 8, 1u)], i.TakeEvents()); // TRANSPORT_RESET, RESCAN
        i.PostEventBuffers(4);
        Assert.Equal([(1u, 9, 1u)], i.TakeEvents());
        a.Resize(16 << 20);
        Assert.Equal([(3u, 7, 0x092Au)], i.TakeEvents()); // PARAM_CHANGE: ASC 2Ah, ASCQ 09h (capacity data has changed)
        Assert.Same(b, await i.Device.DetachAsync(8));
        Assert.Equal([(1u, 8, 2u)], i.TakeEvents()); // REMOVED
        Assert.Equal((5, 0x25, 0), i.Command(Cdb(0, 0, 0, 0, 0, 0), lun: 8).SenseCode);
        Assert.True(i.Interrupts > 0);
        var saved = i.Device.SaveState();
        var record = HyperSharp.Hypervisor.State.SavedRecord.Of(saved);
        Assert.Equal(saved.CdbSize, record.Read<HyperSharp.Machine.Virtio.Scsi.VirtioScsiState>("scsi").CdbSize); // the record round-trips
        await Assert.ThrowsAsync<InvalidOperationException>(() => i.Device.DetachAsync(8));
    }

    [Fact]
    public async Task EventsBeyondWhatWaitsAreReportedAsMissedSoTheDriverRescans()
    {
        using var i = new ScsiInitiator();
        using var d = NewDisk(8 << 20);
        for (int n = 0; n < 300; n++) // 600 events with no buffer posted: more than the device keeps
        {
            i.Device.Attach(n % 64, d);
            await i.Device.DetachAsync(n % 64);
        }
        i.PostEventBuffers(1);
        var first = Assert.Single(i.TakeEvents());
        Assert.Equal(0x8000_0001u, first.Event);                           // EVENTS_MISSED with a transport reset
        i.PostEventBuffers(8);
        Assert.All(i.TakeEvents(), e => Assert.Equal(1u, e.Event));       // the flag is reported once
    }

    [Fact]
    public void WithoutTheChangeFeatureAResizeIsAUnitAttentionReportedOnce()
    {
        using var i = new ScsiInitiator(features: 1UL << 32);
        using var d = NewDisk(8 << 20);
        i.Device.Attach(0, d);
        d.Resize(12 << 20);
        Assert.Equal(0, i.Command(Cdb(0x12, 0, 0, 0, 36, 0), 36).Status); // INQUIRY does not report it
        var saved = i.Device.SaveState();
        Assert.Equal((6, 0x2A, 9), i.Command(Cdb(0, 0, 0, 0, 0, 0)).SenseCode); // UNIT ATTENTION, CAPACITY DATA HAS CHANGED
        Assert.Equal(0, i.Command(Cdb(0, 0, 0, 0, 0, 0)).Status);
        var rc = i.Command(Cdb(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), 8);
        Assert.Equal((12u << 20) / 512 - 1, BinaryPrimitives.ReadUInt32BigEndian(rc.Data));
        i.Device.RestoreState(saved); // the saved unit attention comes back
        Assert.Equal((6, 0x2A, 9), i.Command(Cdb(0, 0, 0, 0, 0, 0)).SenseCode);
        Assert.Throws<HyperSharp.Hypervisor.State.StateVersionException>(() => (HyperSharp.Hypervisor.State.SavedRecord.Of(saved) with { Version = 3 }).Read<HyperSharp.Machine.Virtio.Scsi.VirtioScsiState>("scsi"));
        Assert.Throws<InvalidDataException>(() => i.Device.RestoreState(saved with { UnitAttentions = [new HyperSharp.Machine.Virtio.Scsi.ScsiUnitAttentionState(64, 6, 0x29, 0)] }));
    }

    [Fact]
    public void HostileRequestsGetSenseOrATransportResponseNeverAnException()
    {
        using var i = new ScsiInitiator();
        using var d = NewDisk(8 << 20);
        i.Device.Attach(0, d);
        Assert.Equal((5, 0x20, 0), i.Command(Cdb(0xC7, 0, 0, 0, 0, 0)).SenseCode);                  // vendor-specific opcode
        Assert.Equal(1, i.Command(Read16(0, 16), 512).Response);                                       // 8 KiB asked, 512 bytes given: OVERRUN
        Assert.Equal(1, i.Command(Read16(0, 16, 0x8A), dataOut: new byte[512]).Response);
        Assert.Equal((5, 0x24, 0), i.Command(Read16(0, 0x100000), 512).SenseCode);                     // 512 MiB in one request
        Assert.Equal((5, 0x24, 0), i.Command(Read16(0, 1), 512, requestSize: 19 + 10).SenseCode);      // a READ (16) cut to 10 CDB bytes
        Assert.Equal(9, i.Command(Read16(0, 1), 512, requestSize: 8).Response);                        // no CDB at all: FAILURE
        Assert.Equal(0, i.Command(Read16(0, 1), 512, responseSize: 12).Status);                        // no room for sense is allowed
        Assert.Equal((5, 0x1A, 0), i.Command(Cdb(0x42, 0, 0, 0, 0, 0, 0, 0, 4, 0), dataOut: new byte[4]).SenseCode);
        var bad = new byte[24];
        BinaryPrimitives.WriteUInt16BigEndian(bad.AsSpan(2), 17);                                      // not a whole descriptor
        Assert.Equal((5, 0x26, 0), i.Command(Cdb(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0), dataOut: bad).SenseCode);
        Assert.Equal((5, 0x24, 0), i.Command(Cdb(0x1A, 0, 0x22, 0, 255, 0), 255).SenseCode);          // a mode page we do not have
        i.Requests.Post((TestDriver.Data, 51, false));                                                 // nowhere to put a response
        Assert.Throws<VirtqueueException>(() => i.Device.ProcessQueue(2));
    }

    [Fact]
    public async Task FuzzedRequestsNeverEscapeAsAnythingButQueueErrors()
    {
        using var d = NewDisk(8 << 20);
        var rng = new Random(20261207);
        int served = 0, refused = 0;
        for (int round = 0; round < 300; round++)
        {
            using var i = new ScsiInitiator();
            i.Device.Attach(rng.Next(2), d);
            var cdb = new byte[16];
            rng.NextBytes(cdb);
            if (rng.Next(2) == 0) cdb[0] = (byte)new[] { 0x28, 0x2A, 0x88, 0x8A, 0x42, 0x93, 0x41, 0x12, 0x1A, 0x5A, 0xA0, 0x9E, 0xA3, 0x03 }[rng.Next(14)];
            try
            {
                var r = i.Command(cdb, rng.Next(0, 3) * 4096, rng.Next(2) == 0 ? null : new byte[rng.Next(1, 8192)], lun: rng.Next(3), requestSize: rng.Next(0, 60), responseSize: rng.Next(12, 120));
                Assert.True(r.Response <= 12);
                served++;
            }
            catch (VirtqueueException) { refused++; }
            await i.Device.DetachAsync(i.Device.DiskAt(0) is null ? 1 : 0);
        }
        Assert.True(served > 250, $"{served} served, {refused} refused");
    }
}
