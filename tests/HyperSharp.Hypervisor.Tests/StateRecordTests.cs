using HyperSharp.Hypervisor.Platform;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Tests;

/// <summary>The binary record encoding: round trips, and refusals that name the record and the byte instead of reading garbage.</summary>
public class StateRecordTests
{
    private static SoftwarePlatformState Sample() => new(
        new IoApicState([1, 2, 0x1_0000_0000], [true, false], 0x10, 3),
        [new PicChipState(1, 2, 3, 0x20, 0, 1, 0, false, true, false), new PicChipState(0, 0, 0xFF, 0x28, 0, 0, 0, false, false, false)],
        [new PitChannelState(2, 3, 0x1234, 5000, false, true, false, true, 7, 8, 9000), new PitChannelState(0, 0, 0x10000, null, false, false, false, false, 0, 0, 0)],
        Gate2: true);

    [Fact]
    public void APlatformRecordRoundTrips()
    {
        var saved = SavedRecord.Of(Sample());
        Assert.Equal(2, saved.Version);
        var back = saved.Read<SoftwarePlatformState>("platform");
        Assert.Equal(Sample().IoApic.Redirection, back.IoApic.Redirection);
        Assert.Equal(Sample().Pics, back.Pics);
        Assert.Equal(Sample().Pit, back.Pit);
        Assert.True(back.Gate2);
        Assert.Equal(saved.Data, SavedRecord.Of(back).Data);
    }

    [Fact]
    public void VersionOneJsonStillReads()
    {
        // What the Emulated backend wrote before binary records, with the version field it carried then.
        byte[] json = """{"Version":1,"IoApic":{"Redirection":[65536],"Lines":[false],"Select":0,"Id":0},"Pics":[],"Pit":[],"Gate2":false}"""u8.ToArray();
        var state = SoftwarePlatformState.Restore(new SavedRecord(1, json), "platform");
        Assert.Equal([65536UL], state.IoApic.Redirection);
        var apic = LocalApicState.FromJson("""{"Registers":"AAE=","TimerStartNanoseconds":5,"TscDeadline":0,"NmiPending":true,"InitPending":false,"SipiVector":0}"""u8.ToArray(), "apic");
        Assert.Equal(new byte[] { 0, 1 }, apic.Registers);
        Assert.True(apic.NmiPending);
    }

    [Fact]
    public void DamageIsRefusedNamingTheRecordAndTheByte()
    {
        byte[] data = SavedRecord.Of(Sample()).Data;
        var truncated = Assert.Throws<StateRecordException>(() => new SavedRecord(2, data[..^3]).Read<SoftwarePlatformState>("platform"));
        Assert.Equal("platform", truncated.Record);
        Assert.Contains("truncated", truncated.Message);
        var longer = Assert.Throws<StateRecordException>(() => new SavedRecord(2, [.. data, 0]).Read<SoftwarePlatformState>("platform"));
        Assert.Contains("follow the end of the record", longer.Message);
        // A count of 2^32-1 redirection entries: refused by what is left, not allocated.
        byte[] hostile = (byte[])data.Clone();
        hostile[0] = hostile[1] = hostile[2] = hostile[3] = 0xFF;
        var count = Assert.Throws<StateRecordException>(() => new SavedRecord(2, hostile).Read<SoftwarePlatformState>("platform"));
        Assert.Equal(0, count.Offset);
        Assert.Contains("exceeds", count.Message);
    }

    [Fact]
    public void ANewerVersionIsRefusedWithBothVersions()
    {
        var e = Assert.Throws<StateVersionException>(() => new SavedRecord(3, SavedRecord.Of(Sample()).Data).Read<SoftwarePlatformState>("platform"));
        Assert.Equal((3, 2), (e.Version, e.Supported));
        Assert.Throws<StateVersionException>(() => VirtualProcessorStateSerializer.Restore(new SavedRecord(VirtualProcessorStateSerializer.CurrentVersion + 1, []), "processor 0"));
    }

    [Fact]
    public void AProcessorRecordRoundTripsAndKeepsItsVersion()
    {
        var state = new VirtualProcessorState { Rip = 0x1234, Cr3 = 0x5000, Msrs = [new MsrEntry(0xC0000080, 0x500)], LocalApic = [1, 2, 3] };
        var record = VirtualProcessorStateSerializer.Save(state);
        var back = VirtualProcessorStateSerializer.Restore(record, "processor 0");
        Assert.Equal((0x1234UL, 0x5000UL), (back.Rip, back.Cr3));
        Assert.Equal(state.Msrs, back.Msrs);
        Assert.Equal(state.LocalApic, back.LocalApic);
        Assert.Equal(VirtualProcessorStateSerializer.CurrentVersion, back.EncodingVersion);
        var old = VirtualProcessorStateSerializer.Restore(record with { Version = 1 }, "processor 0");
        Assert.Equal(1, old.EncodingVersion);
    }
}
