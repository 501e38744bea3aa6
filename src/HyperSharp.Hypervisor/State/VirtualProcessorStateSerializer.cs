using System.Buffers.Binary;

namespace HyperSharp.Hypervisor.State;

/// <summary>
/// Turns <see cref="VirtualProcessorState"/> into bytes and back. Layout: magic "HSVP", a u16 version, then
/// tagged sections (u16 tag, u32 length, payload), all little-endian. Why sections: a reader skips tags it does
/// not know and fills sections an older writer did not have with defaults, so saved states and migration
/// streams from older (and compatible newer) builds stay readable; only a higher version number is refused.
/// </summary>
public static class VirtualProcessorStateSerializer
{
    /// <summary>Version written by this build; readers accept this and every earlier one.</summary>
    public const ushort CurrentVersion = 1;

    private const uint Magic = 0x50565348; // "HSVP"

    internal enum Tag : ushort
    {
        General = 1, Segments = 2, Tables = 3, Control = 4, Debug = 5, Msrs = 6,
        FxSave = 7, XSave = 8, Events = 9, RunState = 10, LocalApic = 11, Tsc = 12,
    }

    /// <summary>Serializes <paramref name="state"/> in the current version.</summary>
    public static byte[] Serialize(VirtualProcessorState state)
    {
        var w = new SectionWriter();
        w.Header(Magic, CurrentVersion);

        w.Begin(Tag.General);
        foreach (ulong r in state.GeneralRegisters) w.U64(r);
        w.U64(state.Rip); w.U64(state.Rflags);
        w.End();

        w.Begin(Tag.Segments);
        foreach (var s in new[] { state.Es, state.Cs, state.Ss, state.Ds, state.Fs, state.Gs, state.Ldtr, state.Tr })
        {
            w.U16(s.Selector); w.U64(s.Base); w.U32(s.Limit); w.U32(s.Attributes);
        }
        w.End();

        w.Begin(Tag.Tables);
        w.U64(state.Gdtr.Base); w.U16(state.Gdtr.Limit); w.U64(state.Idtr.Base); w.U16(state.Idtr.Limit);
        w.End();

        w.Begin(Tag.Control);
        w.U64(state.Cr0); w.U64(state.Cr2); w.U64(state.Cr3); w.U64(state.Cr4); w.U64(state.Cr8);
        w.U64(state.Efer); w.U64(state.ApicBase); w.U64(state.Xcr0);
        w.End();

        w.Begin(Tag.Debug);
        foreach (ulong d in state.DebugAddress) w.U64(d);
        w.U64(state.Dr6); w.U64(state.Dr7);
        w.End();

        w.Begin(Tag.Msrs);
        w.U32((uint)state.Msrs.Length);
        foreach (var m in state.Msrs) { w.U32(m.Index); w.U64(m.Value); }
        w.End();

        w.Section(Tag.FxSave, state.FxSave);
        w.Section(Tag.XSave, state.XSave);

        var e = state.Events;
        w.Begin(Tag.Events);
        w.U8(e.ExceptionInjected); w.U8(e.ExceptionPending); w.U8(e.ExceptionVector); w.U8(e.ExceptionHasErrorCode); w.U32(e.ExceptionErrorCode);
        w.U8(e.InterruptInjected); w.U8(e.InterruptVector); w.U8(e.InterruptSoft); w.U8(e.InterruptShadow);
        w.U8(e.NmiInjected); w.U8(e.NmiPending); w.U8(e.NmiMasked); w.U32(e.SipiVector);
        w.End();

        w.Begin(Tag.RunState); w.U32((uint)state.RunState); w.End();
        w.Section(Tag.LocalApic, state.LocalApic);
        w.Begin(Tag.Tsc); w.U64(state.Tsc); w.End();
        return w.ToArray();
    }

    /// <summary>Reads a state written by this or any earlier version.</summary>
    /// <exception cref="InvalidDataException">Not a processor state, damaged, or from a newer incompatible version.</exception>
    public static VirtualProcessorState Deserialize(ReadOnlySpan<byte> data)
    {
        var r = new SectionReader(data);
        if (r.U32() != Magic)
            throw new InvalidDataException("Not a HyperSharp virtual processor state (bad magic).");
        ushort version = r.U16();
        if (version == 0 || version > CurrentVersion)
            throw new InvalidDataException($"Virtual processor state version {version} is newer than this build understands ({CurrentVersion}); upgrade HyperSharp on this host.");

        var state = new VirtualProcessorState();
        while (r.TryNextSection(out Tag tag, out SectionReader s))
            state = ApplySection(state, tag, ref s);
        // Conversions from older versions go here, keyed on `version`, when a later version changes a meaning.
        return state;
    }

    private static VirtualProcessorState ApplySection(VirtualProcessorState st, Tag tag, ref SectionReader s)
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
                    throw new InvalidDataException($"Virtual processor state: MSR count {count} exceeds its section.");
                var msrs = new MsrEntry[count];
                for (int i = 0; i < msrs.Length; i++) msrs[i] = new MsrEntry(s.U32(), s.U64());
                return st with { Msrs = msrs };
            case Tag.FxSave:
                if (s.Remaining != 512) throw new InvalidDataException("Virtual processor state: FXSAVE image is not 512 bytes.");
                return st with { FxSave = s.Rest() };
            case Tag.XSave:
                return st with { XSave = s.Rest() };
            case Tag.Events:
                return st with
                {
                    Events = new PendingEvents
                    {
                        ExceptionInjected = s.Bool(), ExceptionPending = s.Bool(), ExceptionVector = s.U8(), ExceptionHasErrorCode = s.Bool(), ExceptionErrorCode = s.U32(),
                        InterruptInjected = s.Bool(), InterruptVector = s.U8(), InterruptSoft = s.Bool(), InterruptShadow = s.U8(),
                        NmiInjected = s.Bool(), NmiPending = s.Bool(), NmiMasked = s.Bool(), SipiVector = s.U32(),
                    },
                };
            case Tag.RunState:
                return st with { RunState = (ProcessorRunState)s.U32() };
            case Tag.LocalApic:
                return st with { LocalApic = s.Rest() };
            case Tag.Tsc:
                return st with { Tsc = s.U64() };
            default:
                return st; // a section from a newer compatible writer: skipped
        }
    }

    /// <summary>Builds the byte stream section by section.</summary>
    private sealed class SectionWriter
    {
        private readonly MemoryStream _out = new();
        private readonly byte[] _scratch = new byte[8];
        private long _lengthAt = -1;

        public void Header(uint magic, ushort version) { U32(magic); U16(version); }

        public void Begin(Tag tag)
        {
            U16((ushort)tag);
            _lengthAt = _out.Position;
            U32(0); // patched by End
        }

        public void End()
        {
            long end = _out.Position;
            _out.Position = _lengthAt;
            U32((uint)(end - _lengthAt - 4));
            _out.Position = end;
        }

        public void Section(Tag tag, byte[] payload) { Begin(tag); _out.Write(payload); End(); }
        public void U8(byte v) => _out.WriteByte(v);
        public void U8(bool v) => _out.WriteByte(v ? (byte)1 : (byte)0);
        public void U16(ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(_scratch, v); _out.Write(_scratch, 0, 2); }
        public void U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(_scratch, v); _out.Write(_scratch, 0, 4); }
        public void U64(ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(_scratch, v); _out.Write(_scratch, 0, 8); }
        public byte[] ToArray() => _out.ToArray();
    }

    /// <summary>Reads fields with bounds checks: a truncated or damaged stream gives InvalidDataException, never garbage.</summary>
    private ref struct SectionReader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;

        public readonly int Remaining => _data.Length;

        public bool TryNextSection(out Tag tag, out SectionReader section)
        {
            section = default;
            tag = default;
            if (_data.IsEmpty) return false;
            tag = (Tag)U16();
            uint length = U32();
            section = new SectionReader(Take(checked((int)Math.Min(length, int.MaxValue))));
            return true;
        }

        public byte U8() => Take(1)[0];
        public bool Bool() => U8() != 0;
        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        public byte[] Rest() => Take(_data.Length).ToArray();

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n > _data.Length)
                throw new InvalidDataException("Virtual processor state is truncated or damaged.");
            var head = _data[..n];
            _data = _data[n..];
            return head;
        }
    }
}
