using System.Text;
using Iced.Intel;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.Sequences;

/// <summary>
/// Compares what two processors left after a <see cref="SequenceCase"/>: exception (vector, error code, RIP, CR2),
/// all GPRs, RFLAGS (status flags and DF, minus those the SDM leaves undefined at that point; RF in exception
/// frames), the data page, x87 (control, status but C1, tags, non-empty stack registers), MXCSR (exception flags too) and XMM0-15.
/// </summary>
internal static class SequenceCompare
{
    private static readonly string[] GprNames = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

    /// <summary>Null when they agree, else a one-line list of differences ("hw" = the oracle, a processor of
    /// <paramref name="vendor"/>; null for a vendor the emulator does not model, whose undefined flags are masked).</summary>
    public static string? Diff(SequenceCase c, SequenceResult hw, SequenceResult emu, ProcessorVendor? vendor)
    {
        var d = new StringBuilder();
        if (hw.Vector != emu.Vector || hw.ErrorCode != emu.ErrorCode || hw.FaultOffset != emu.FaultOffset)
            d.Append($" exception: hw {Fault(hw)} emu {Fault(emu)};");
        else if (hw.Vector == 14 && hw.Cr2 != emu.Cr2) d.Append($" cr2: hw {hw.Cr2:X} emu {emu.Cr2:X};");
        for (int i = 0; i < 16; i++)
            if (hw.Regs[i] != emu.Regs[i]) d.Append($" {GprNames[i]}: hw {hw.Regs[i]:X} emu {emu.Regs[i]:X};");
        ulong mask = FlagMask(c, hw, vendor);
        if ((hw.Flags & mask) != (emu.Flags & mask)) d.Append($" rflags: hw {hw.Flags & mask:X} emu {emu.Flags & mask:X} (mask {mask:X});");
        for (int i = 0; i < SequenceCase.DataSize; i++)
            if (hw.Data[i] != emu.Data[i]) { d.Append($" data[{i}]: hw {Convert.ToHexString(hw.Data, i & ~7, 8)} emu {Convert.ToHexString(emu.Data, i & ~7, 8)} (first difference);"); break; }
        CompareFx(hw.Fx, emu.Fx, d);
        return d.Length == 0 ? null : d.ToString();
    }

    /// <summary>The RFLAGS bits compared: status flags and DF (RF in an exception frame), minus those undefined at the point
    /// the sequence stopped that the emulator does not model for <paramref name="vendor"/>.</summary>
    private static ulong FlagMask(SequenceCase c, SequenceResult hw, ProcessorVendor? vendor)
    {
        ulong compared = FlagAnalysis.StatusFlags | 0x400;
        if (FlagAnalysis.Analyze(c.Code) is not var (offsets, undefinedBefore, _)) return 0;
        ulong undefined;
        if (hw.Vector == SequenceResult.NoFault) undefined = undefinedBefore[^1];
        else
        {
            compared |= 0x10000; // RF in the exception frame
            int k = Array.IndexOf(offsets, (int)hw.FaultOffset);
            undefined = k >= 0 ? undefinedBefore[k] : undefinedBefore.Aggregate(0UL, (x, y) => x | y);
        }
        return compared & ~FlagAnalysis.Masked(undefined, vendor);
    }

    private static string Fault(SequenceResult r) => r.Vector == SequenceResult.NoFault ? "none"
        : $"#{r.Vector}({r.ErrorCode:X}) at +{r.FaultOffset}";

    private static void CompareFx(byte[] hw, byte[] emu, StringBuilder d)
    {
        ushort hFsw = BitConverter.ToUInt16(hw, 2), eFsw = BitConverter.ToUInt16(emu, 2);
        if (BitConverter.ToUInt16(hw, 0) != BitConverter.ToUInt16(emu, 0)) d.Append($" fcw: hw {BitConverter.ToUInt16(hw, 0):X4} emu {BitConverter.ToUInt16(emu, 0):X4};");
        if ((hFsw & ~0x200) != (eFsw & ~0x200)) d.Append($" fsw (C1 masked): hw {hFsw:X4} emu {eFsw:X4};");
        if (hw[4] != emu[4]) d.Append($" ftw: hw {hw[4]:X2} emu {emu[4]:X2};");
        uint hMx = BitConverter.ToUInt32(hw, 24), eMx = BitConverter.ToUInt32(emu, 24);
        if (hMx != eMx) d.Append($" mxcsr: hw {hMx:X} emu {eMx:X};");
        int top = (hFsw >> 11) & 7;
        for (int i = 0; i < 8; i++)
        {
            bool empty = (hw[4] & (1 << ((top + i) & 7))) == 0;
            if (!empty && !hw.AsSpan(32 + i * 16, 10).SequenceEqual(emu.AsSpan(32 + i * 16, 10)))
                d.Append($" st{i}: hw {Convert.ToHexString(hw, 32 + i * 16, 10)} emu {Convert.ToHexString(emu, 32 + i * 16, 10)};");
        }
        for (int i = 0; i < 16; i++)
            if (!hw.AsSpan(160 + i * 16, 16).SequenceEqual(emu.AsSpan(160 + i * 16, 16)))
                d.Append($" xmm{i}: hw {Xmm(hw, i)} emu {Xmm(emu, i)};");
    }

    private static string Xmm(byte[] fx, int i) => $"{BitConverter.ToUInt64(fx, 168 + i * 16):X16}_{BitConverter.ToUInt64(fx, 160 + i * 16):X16}";

    /// <summary>The kinds of state a <see cref="Diff"/> line names (register numbers folded: "xmm", "st"), for a summary.</summary>
    public static IEnumerable<string> Kinds(string diff) =>
        diff.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split(' ', ':', '[')[0].TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')).Distinct();

    /// <summary>A reproducer: bytes, disassembly with offsets, and every input.</summary>
    public static string Describe(SequenceCase c)
    {
        var code = c.Code;
        var s = new StringBuilder();
        s.AppendLine($"  bytes: {Convert.ToHexString(code)}");
        if (FlagAnalysis.Analyze(code) is var (offsets, undefinedBefore, instructions))
        {
            var f = new NasmFormatter();
            for (int i = 0; i < instructions.Length; i++)
            {
                var o = new StringOutput();
                f.Format(instructions[i], o);
                s.AppendLine($"  +{offsets[i],-4} {Convert.ToHexString(code, offsets[i], instructions[i].Length),-30} {o}   (undefined flags before: {undefinedBefore[i]:X})");
            }
        }
        s.AppendLine("  in: " + string.Join(" ", Enumerable.Range(0, 16).Where(i => i is not (4 or 5)).Select(i => $"{GprNames[i]}={c.Regs[i]:X}"))
            + $" rflags={0x2 | c.Flags:X} (rbp = data page, rsp = its end)");
        s.AppendLine($"  fcw={BitConverter.ToUInt16(c.Fx, 0):X4} fsw={BitConverter.ToUInt16(c.Fx, 2):X4} ftw={c.Fx[4]:X2} mxcsr={BitConverter.ToUInt32(c.Fx, 24):X}"
            + " st: " + string.Join(" ", Enumerable.Range(0, 8).Select(i => Convert.ToHexString(c.Fx, 32 + i * 16, 10))));
        s.AppendLine("  xmm0-7: " + string.Join(" ", Enumerable.Range(0, 8).Select(i => Xmm(c.Fx, i))));
        s.AppendLine($"  data: {Convert.ToHexString(c.Data)}");
        return s.ToString();
    }
}
