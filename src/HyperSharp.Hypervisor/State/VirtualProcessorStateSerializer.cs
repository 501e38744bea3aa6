using System.Buffers.Binary;

namespace HyperSharp.Hypervisor.State;

/// <summary>
/// Turns <see cref="VirtualProcessorState"/> into a saved record and back: tagged sections (u16 tag, u32 length,
/// payload, little-endian, written with <see cref="StateWriter"/>). Why sections: a reader skips tags it does not
/// know and fills sections an older writer did not have with defaults, so saved states and migration streams
/// from older (and compatible newer) builds stay readable; only a higher version number is refused.
/// In a saved-state file the sections are one record whose header carries the version; <see cref="Serialize"/>
/// gives the standalone form (magic "HSVP", u16 version, sections) for streams without such a header.
/// Versions: 1 the first; 2 the same sections, the Emulated backend's local APIC in binary (1: JSON), which a
/// backend tells apart by <see cref="VirtualProcessorState.EncodingVersion"/>.
/// </summary>
public static class VirtualProcessorStateSerializer
{
    /// <summary>Version written by this build; readers accept this and every earlier one.</summary>
    public const ushort CurrentVersion = 2;

    private const uint Magic = 0x50565348; // "HSVP"

    internal enum Tag : ushort
    {
        General = 1, Segments = 2, Tables = 3, Control = 4, Debug = 5, Msrs = 6,
        FxSave = 7, XSave = 8, Events = 9, RunState = 10, LocalApic = 11, Tsc = 12,
    }

    /// <summary>The state as a saved record (sections, in the current version).</summary>
    public static SavedRecord Save(VirtualProcessorState state)
    {
        var w = new StateWriter();
        WriteSections(w, state);
        return new SavedRecord(CurrentVersion, w.ToArray());
    }

    /// <summary>Reads a saved record of any version up to <see cref="CurrentVersion"/>; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="StateRecordException">Damaged, or (<see cref="StateVersionException"/>) newer than this build.</exception>
    public static VirtualProcessorState Restore(SavedRecord record, string name)
    {
        if (record.Version > CurrentVersion) throw new StateVersionException(name, record.Version, CurrentVersion);
        if (record.Version == 0) throw new StateRecordException(name, 0, "version 0 does not exist");
        var r = new StateReader(record.Data, name);
        return ReadSections(ref r, record.Version);
    }

    /// <summary>Serializes <paramref name="state"/> standalone (magic, version, sections) in the current version.</summary>
    public static byte[] Serialize(VirtualProcessorState state)
    {
        var w = new StateWriter();
        w.U32(Magic);
        w.U16(CurrentVersion);
        WriteSections(w, state);
        return w.ToArray();
    }

    /// <summary>Reads a standalone state written by this or any earlier version.</summary>
    /// <exception cref="InvalidDataException">Not a processor state, damaged, or from a newer incompatible version.</exception>
    public static VirtualProcessorState Deserialize(ReadOnlySpan<byte> data)
    {
        if (data.Length < 6 || BinaryPrimitives.ReadUInt32LittleEndian(data) != Magic)
            throw new InvalidDataException("Not a HyperSharp virtual processor state (bad magic).");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
        if (version == 0 || version > CurrentVersion)
            throw new InvalidDataException($"Virtual processor state version {version} is newer than this build understands ({CurrentVersion}); upgrade HyperSharp on this host.");
        try
        {
            var r = new StateReader(data[6..], "virtual processor state");
            return ReadSections(ref r, version);
        }
        catch (StateRecordException e) { throw new InvalidDataException($"Virtual processor state is truncated or damaged: {e.Message}", e); }
    }

    private static void WriteSections(StateWriter w, VirtualProcessorState state)
    {
        var s = new StateWriter();
        foreach (ulong r in state.GeneralRegisters) s.U64(r);
        s.U64(state.Rip); s.U64(state.Rflags);
        Section(w, Tag.General, s);

        foreach (var seg in new[] { state.Es, state.Cs, state.Ss, state.Ds, state.Fs, state.Gs, state.Ldtr, state.Tr })
        {
            s.U16(seg.Selector); s.U64(seg.Base); s.U32(seg.Limit); s.U32(seg.Attributes);
        }
        Section(w, Tag.Segments, s);

        s.U64(state.Gdtr.Base); s.U16(state.Gdtr.Limit); s.U64(state.Idtr.Base); s.U16(state.Idtr.Limit);
        Section(w, Tag.Tables, s);

        s.U64(state.Cr0); s.U64(state.Cr2); s.U64(state.Cr3); s.U64(state.Cr4); s.U64(state.Cr8);
        s.U64(state.Efer); s.U64(state.ApicBase); s.U64(state.Xcr0);
        Section(w, Tag.Control, s);

        foreach (ulong d in state.DebugAddress) s.U64(d);
        s.U64(state.Dr6); s.U64(state.Dr7);
        Section(w, Tag.Debug, s);

        s.U32((uint)state.Msrs.Length);
        foreach (var m in state.Msrs) { s.U32(m.Index); s.U64(m.Value); }
        Section(w, Tag.Msrs, s);

        s.Raw(state.FxSave);
        Section(w, Tag.FxSave, s);
        s.Raw(state.XSave);
        Section(w, Tag.XSave, s);

        var e = state.Events;
        s.Bool(e.ExceptionInjected); s.Bool(e.ExceptionPending); s.U8(e.ExceptionVector); s.Bool(e.ExceptionHasErrorCode); s.U32(e.ExceptionErrorCode);
        s.Bool(e.InterruptInjected); s.U8(e.InterruptVector); s.Bool(e.InterruptSoft); s.U8(e.InterruptShadow);
        s.Bool(e.NmiInjected); s.Bool(e.NmiPending); s.Bool(e.NmiMasked); s.U32(e.SipiVector);
        Section(w, Tag.Events, s);

        s.U32((uint)state.RunState);
        Section(w, Tag.RunState, s);
        s.Raw(state.LocalApic);
        Section(w, Tag.LocalApic, s);
        s.U64(state.Tsc);
        Section(w, Tag.Tsc, s);
    }

    private static void Section(StateWriter w, Tag tag, StateWriter payload)
    {
        w.U16((ushort)tag);
        w.Bytes(payload.WrittenSpan);
        payload.Clear();
    }

    private static VirtualProcessorState ReadSections(ref StateReader r, ushort version)
    {
        var state = new VirtualProcessorState { EncodingVersion = version };
        while (r.Remaining > 0)
        {
            var tag = (Tag)r.U16();
            var section = new StateReader(r.BytesSpan(), $"{r.Record} section {tag}");
            state = ApplySection(state, tag, ref section);
        }
        // Conversions from older versions go here, keyed on `version`, when a later version changes a meaning.
        return state;
    }

    private static VirtualProcessorState ApplySection(VirtualProcessorState st, Tag tag, ref StateReader s)
    {
        switch (tag)
        {
            case Tag.General:
                var gpr = new ulong[16];
                for (int i = 0; i < 16; i++) gpr[i] = s.U64();
                return st with { GeneralRegisters = gpr, Rip = s.U64(), Rflags = s.U64() };
            case Tag.Segments:
                var seg = new SegmentRegister[8];
                for (int i = 0; i < 8; i++) seg[i] = new SegmentRegister(s.U16(), s.U64(), s.U32(), s.U32());
                return st with { Es = seg[0], Cs = seg[1], Ss = seg[2], Ds = seg[3], Fs = seg[4], Gs = seg[5], Ldtr = seg[6], Tr = seg[7] };
            case Tag.Tables:
                return st with { Gdtr = new TableRegister(s.U64(), s.U16()), Idtr = new TableRegister(s.U64(), s.U16()) };
            case Tag.Control:
                return st with { Cr0 = s.U64(), Cr2 = s.U64(), Cr3 = s.U64(), Cr4 = s.U64(), Cr8 = s.U64(), Efer = s.U64(), ApicBase = s.U64(), Xcr0 = s.U64() };
            case Tag.Debug:
                var dr = new ulong[4];
                for (int i = 0; i < 4; i++) dr[i] = s.U64();
                return st with { DebugAddress = dr, Dr6 = s.U64(), Dr7 = s.U64() };
            case Tag.Msrs:
                uint count = s.U32();
                if (count > s.Remaining / 12)
                    throw s.Damaged(0, $"MSR count {count} exceeds its section");
                var msrs = new MsrEntry[count];
                for (int i = 0; i < msrs.Length; i++) msrs[i] = new MsrEntry(s.U32(), s.U64());
                return st with { Msrs = msrs };
            case Tag.FxSave:
                if (s.Remaining != 512) throw s.Damaged(0, "the FXSAVE image is not 512 bytes");
                return st with { FxSave = s.Rest().ToArray() };
            case Tag.XSave:
                return st with { XSave = s.Rest().ToArray() };
            case Tag.Events:
                return st with
                {
                    Events = new PendingEvents
                    {
                        ExceptionInjected = s.U8() != 0, ExceptionPending = s.U8() != 0, ExceptionVector = s.U8(), ExceptionHasErrorCode = s.U8() != 0, ExceptionErrorCode = s.U32(),
                        InterruptInjected = s.U8() != 0, InterruptVector = s.U8(), InterruptSoft = s.U8() != 0, InterruptShadow = s.U8(),
                        NmiInjected = s.U8() != 0, NmiPending = s.U8() != 0, NmiMasked = s.U8() != 0, SipiVector = s.U32(),
                    },
                };
            case Tag.RunState:
                return st with { RunState = (ProcessorRunState)s.U32() };
            case Tag.LocalApic:
                return st with { LocalApic = s.Rest().ToArray() };
            case Tag.Tsc:
                return st with { Tsc = s.U64() };
            default:
                return st; // a section from a newer compatible writer: skipped
        }
    }
}
