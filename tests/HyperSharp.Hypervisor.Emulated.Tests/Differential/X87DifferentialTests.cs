using System.Text;
using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Execution;
using Xunit.Abstractions;
using Decoder = Iced.Intel.Decoder;
using Encoder = Iced.Intel.Encoder;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential;

/// <summary>
/// x87 instructions on the host FPU and on the emulator's Float80, from random register stacks (edge values:
/// zeros, denormals, infinities, quiet and signalling NaNs, wide exponents), random rounding and precision
/// control and random memory operands. Compares the stack registers, tags, FSW (TOP, C0 C2 C3, exception
/// flags) and RFLAGS; C1 and the instruction-pointer fields are not modelled. HYPERSHARP_X87_CASES sizes it.
/// </summary>
public unsafe class X87DifferentialTests(ITestOutputHelper output)
{
    [Fact]
    public void Emulator_x87_matches_the_host_FPU()
    {
        if (!NativeRunner.Supported) { output.WriteLine("host is not x86-64 Linux: differential test skipped"); return; }
        int cases = int.TryParse(Environment.GetEnvironmentVariable("HYPERSHARP_X87_CASES"), out int n) ? n : 20_000;
        var rng = new Random(4242);
        using var native = new NativeRunner();
        using var m = new TestMachine();
        var forms = InstructionForms.X87Forms.Concat(InstructionForms.MmxForms).ToArray();
        output.WriteLine($"{InstructionForms.X87Forms.Length} x87 forms, {InstructionForms.MmxForms.Length} MMX forms, {cases} cases");
        var failures = new StringBuilder();
        int failed = 0, ran = 0;
        var data = new byte[NativeRunner.DataSize];
        var emuFx = new byte[512];
        for (int c = 0; c < cases; c++)
        {
            if (InstructionForms.Instantiate(forms[c % forms.Length], rng) is not Instruction ins) continue;
            byte[] bytes;
            try { var w = new ByteCodeWriter(); Encoder.Create(64, w).Encode(ins, 0); bytes = w.ToArray(); }
            catch (EncoderException) { continue; }
            var dec = Decoder.Create(64, new ByteArrayCodeReader(bytes)).Decode();
            ran++;
            var regs = new ulong[16];
            for (int i = 0; i < 16; i++) regs[i] = Values.Edge(rng);
            ulong flags = 2 | ((ulong)rng.Next() & 0x8D5);
            rng.NextBytes(data);
            var fx = X87Values.RandomFx(rng);
            native.FxImage = fx;
            var xs = new UInt128[8];
            for (int i = 0; i < 8; i++) xs[i] = Values.Xmm(rng);
            var xOut = new UInt128[8];
            var (hostRegs, hostFlags) = native.Run(bytes, regs, flags, data, xs, xOut);
            var hostFx = native.FxResult;

            m.Memory.Write(TestMachine.CodeBase, [.. bytes, 0xF4]);
            m.Memory.Write(TestMachine.Data, data);
            for (int i = 0; i < 16; i++) m.Cpu[(Gpr)i] = regs[i];
            m.Cpu[Gpr.Rsp] = TestMachine.StackTop; m.Cpu[Gpr.Rbp] = TestMachine.Data; m.Cpu[Gpr.Rdi] = 0;
            m.Cpu.Rflags = flags;
            X87ControlInstructions.FxRestoreFrom(m.Cpu, fx);
            for (int i = 0; i < 8; i++) m.Cpu.Sse.Xmm(i) = System.Runtime.CompilerServices.Unsafe.As<UInt128, System.Runtime.Intrinsics.Vector128<byte>>(ref xs[i]);
            m.Cpu.Rip = TestMachine.CodeBase;
            m.Cpu._halted = false;
            var exit = m.Cpu.Run(10);
            X87ControlInstructions.FxSaveTo(m.Cpu, emuFx);
            var diff = new StringBuilder();
            if (exit != CpuExitReason.Halted || m.Cpu.Rip != TestMachine.CodeBase + (ulong)bytes.Length + 1) diff.Append($" exit={exit};");
            ushort hFcw = BitConverter.ToUInt16(hostFx, 0), eFcw = BitConverter.ToUInt16(emuFx, 0);
            ushort hFsw = (ushort)(BitConverter.ToUInt16(hostFx, 2) & ~0x0200), eFsw = (ushort)(BitConverter.ToUInt16(emuFx, 2) & ~0x0200);
            if (hFcw != eFcw) diff.Append($" fcw host {hFcw:X4} emu {eFcw:X4};");
            if (hFsw != eFsw) diff.Append($" fsw host {hFsw:X4} emu {eFsw:X4};");
            if (hostFx[4] != emuFx[4]) diff.Append($" tags host {hostFx[4]:X2} emu {emuFx[4]:X2};");
            for (int i = 0; i < 8; i++)
            {
                var h = hostFx.AsSpan(32 + i * 16, 10); var e = emuFx.AsSpan(32 + i * 16, 10);
                bool empty = (hostFx[4] & (1 << ((((BitConverter.ToUInt16(hostFx, 2) >> 11) & 7) + i) & 7))) == 0;
                if (!empty && !h.SequenceEqual(e)) diff.Append($" st{i} host {Convert.ToHexString(h)} emu {Convert.ToHexString(e)};");
            }
            if ((hostFlags & 0x8D5) != (m.Cpu.Rflags & 0x8D5)) diff.Append($" rflags host {hostFlags & 0x8D5:X} emu {m.Cpu.Rflags & 0x8D5:X};");
            for (int i = 0; i < 16; i++)
                if (i is not (4 or 5 or 7) && hostRegs[i] != m.Cpu[(Gpr)i]) diff.Append($" {(Gpr)i}: host {hostRegs[i]:X} emu {m.Cpu[(Gpr)i]:X};");
            for (int i = 0; i < 8; i++)
            {
                var ev = m.Cpu.Sse.Xmm(i);
                var e = System.Runtime.CompilerServices.Unsafe.As<System.Runtime.Intrinsics.Vector128<byte>, UInt128>(ref ev);
                if (e != xOut[i]) diff.Append($" xmm{i}: host {xOut[i]:X32} emu {e:X32};");
            }
            if (!new ReadOnlySpan<byte>(native.Data, NativeRunner.DataSize).SequenceEqual(m.Memory.Span(TestMachine.Data, NativeRunner.DataSize)))
                diff.Append(" memory differs;");
            if (diff.Length > 0 && ++failed <= 25)
            {
                var st = string.Join(" ", Enumerable.Range(0, 8).Select(i => Convert.ToHexString(fx, 32 + i * 16, 10)));
                failures.AppendLine($"{dec} [{Convert.ToHexString(bytes)}] fcw {BitConverter.ToUInt16(fx, 0):X4} fsw {BitConverter.ToUInt16(fx, 2):X4} tags {fx[4]:X2} st {st}\n   ->{diff}");
            }
        }
        output.WriteLine($"{ran} cases run");
        output.WriteLine(failures.ToString());
        Assert.True(failed == 0, $"{failed} x87 mismatches (first ones):\n{failures}");
    }
}
