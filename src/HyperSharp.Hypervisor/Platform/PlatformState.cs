using System.Text.Json;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Platform;

/// <summary>Saved state of the I/O APIC: redirection entries, input levels, selected register, ID.</summary>
public sealed record IoApicState(ulong[] Redirection, bool[] Lines, uint Select, uint Id)
{
    internal void Write(StateWriter w)
    {
        w.Array(Redirection, (w, e) => w.U64(e)); w.Array(Lines, (w, l) => w.Bool(l)); w.U32(Select); w.U32(Id);
    }

    internal static IoApicState Read(ref StateReader r) =>
        new(r.Array(8, static (ref StateReader r) => r.U64()), r.Array(1, static (ref StateReader r) => r.Bool()), r.U32(), r.U32());
}

/// <summary>Saved state of one 8259.</summary>
public sealed record PicChipState(byte Irr, byte Isr, byte Imr, byte VectorBase, byte Elcr, byte Lines, int InitStep, bool Icw4Needed, bool ReadIsr, bool AutoEoi)
{
    internal void Write(StateWriter w)
    {
        w.U8(Irr); w.U8(Isr); w.U8(Imr); w.U8(VectorBase); w.U8(Elcr); w.U8(Lines); w.I32(InitStep); w.Bool(Icw4Needed); w.Bool(ReadIsr); w.Bool(AutoEoi);
    }

    internal static PicChipState Read(ref StateReader r) =>
        new(r.U8(), r.U8(), r.U8(), r.U8(), r.U8(), r.U8(), r.I32(), r.Bool(), r.Bool(), r.Bool());
}

/// <summary>Saved state of one 8254 channel; times are relative to the moment of saving.</summary>
public sealed record PitChannelState(int Mode, int Access, int ReloadValue, long? StartAgo, bool Latched, bool ReadHigh, bool WriteHigh, bool Armed, ushort LatchValue, byte LowByte, long NextFireIn)
{
    internal void Write(StateWriter w)
    {
        w.I32(Mode); w.I32(Access); w.I32(ReloadValue); w.OptionalI64(StartAgo); w.Bool(Latched); w.Bool(ReadHigh); w.Bool(WriteHigh); w.Bool(Armed);
        w.U16(LatchValue); w.U8(LowByte); w.I64(NextFireIn);
    }

    internal static PitChannelState Read(ref StateReader r) =>
        new(r.I32(), r.I32(), r.I32(), r.OptionalI64(), r.Bool(), r.Bool(), r.Bool(), r.Bool(), r.U16(), r.U8(), r.I64());
}

/// <summary>
/// The software platform of a partition: I/O APIC, both PICs, the PIT (local APICs travel with their processors).
/// Version 2 is binary; version 1 was JSON (<see cref="FromJson"/>), as saved-state files from before binary records hold it.
/// </summary>
public sealed record SoftwarePlatformState(IoApicState IoApic, PicChipState[] Pics, PitChannelState[] Pit, bool Gate2) : IStateRecord<SoftwarePlatformState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w)
    {
        IoApic.Write(w);
        w.Array(Pics, (w, p) => p.Write(w));
        w.Array(Pit, (w, c) => c.Write(w));
        w.Bool(Gate2);
    }

    public static SoftwarePlatformState Read(ref StateReader r, ushort version) =>
        new(IoApicState.Read(ref r), r.Array(13, PicChipState.Read), r.Array(28, PitChannelState.Read), r.Bool());

    /// <summary>Reads a platform record of any version this build knows: 1 (JSON) or 2 (binary).</summary>
    public static SoftwarePlatformState Restore(SavedRecord record, string name)
    {
        if (record.Version != 1) return record.Read<SoftwarePlatformState>(name);
        try { return JsonSerializer.Deserialize<SoftwarePlatformState>(record.Data) ?? throw new StateRecordException(name, 0, "the platform record is empty"); }
        catch (JsonException e) { throw new StateRecordException(name, (int)(e.BytePositionInLine ?? 0), $"the version 1 (JSON) platform record is damaged: {e.Message}"); }
    }
}
