using System.Text.Json;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Platform;

/// <summary>
/// Saved state of a software local APIC: the register page as the xAPIC MMIO layout has it, plus timer bookkeeping.
/// Version 2 is binary; version 1 (inside processor records of serializer version 1) was JSON, read by <see cref="FromJson"/>.
/// </summary>
public sealed record LocalApicState(byte[] Registers, long TimerStartNanoseconds, ulong TscDeadline, bool NmiPending, bool InitPending, int SipiVector)
    : IStateRecord<LocalApicState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w)
    {
        w.Bytes(Registers); w.I64(TimerStartNanoseconds); w.U64(TscDeadline); w.Bool(NmiPending); w.Bool(InitPending); w.I32(SipiVector);
    }

    public static LocalApicState Read(ref StateReader r, ushort version) =>
        new(r.Bytes(), r.I64(), r.U64(), r.Bool(), r.Bool(), r.I32());

    /// <summary>Version 1: the JSON the Emulated backend wrote into processor records before binary records existed.</summary>
    public static LocalApicState FromJson(byte[] json, string name)
    {
        try { return JsonSerializer.Deserialize<LocalApicState>(json) ?? throw new StateRecordException(name, 0, "the local APIC record is empty"); }
        catch (JsonException e) { throw new StateRecordException(name, (int)(e.BytePositionInLine ?? 0), $"the version 1 (JSON) local APIC record is damaged: {e.Message}"); }
    }
}
