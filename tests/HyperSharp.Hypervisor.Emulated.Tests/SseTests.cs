using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>SSE/SSE2 as glibc's string and math code uses it; SSE exceptions; FXSAVE/FXRSTOR.</summary>
public class SseTests
{
    [Fact]
    public void Strlen_with_pcmpeqb_pmovmskb_bsf()
    {
        using var m = new TestMachine();
        var text = "hello, emulated world"u8.ToArray();
        m.Memory.Write(TestMachine.Data, text);   // followed by zeros
        m.Load(a =>
        {
            var loop = a.CreateLabel(); var found = a.CreateLabel();
            a.mov(rdi, TestMachine.Data); a.pxor(xmm0, xmm0); a.xor(eax, eax);
            a.Label(ref loop);
            a.movdqu(xmm1, __xmmword_ptr[rdi + rax]);
            a.pcmpeqb(xmm1, xmm0);
            a.pmovmskb(ecx, xmm1);
            a.test(ecx, ecx); a.jnz(found);
            a.add(rax, 16); a.jmp(loop);
            a.Label(ref found);
            a.bsf(ecx, ecx); a.add(rax, rcx);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal((ulong)text.Length, m.Cpu[Gpr.Rax]);
    }

    [Fact]
    public void Double_arithmetic_and_conversions()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(eax, 7); a.cvtsi2sd(xmm0, eax);          // 7.0
            a.mov(eax, 2); a.cvtsi2sd(xmm1, eax);          // 2.0
            a.divsd(xmm0, xmm1);                            // 3.5
            a.movsd(xmm2, xmm0); a.mulsd(xmm2, xmm2);       // 12.25
            a.cvttsd2si(ebx, xmm0);                         // 3 (truncate)
            a.cvtsd2si(ecx, xmm0);                          // 4 (nearest even of 3.5)
            a.cvttsd2si(rdx, xmm2);                         // 12
            a.movq(r8, xmm2);
            a.ucomisd(xmm1, xmm0); a.setb(r9b);             // 2 < 3.5
            a.sqrtsd(xmm3, xmm2); a.cvttsd2si(r10, xmm3);   // sqrt(12.25) = 3.5 -> 3
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(3UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(4UL, m.Cpu[Gpr.Rcx]);
        Assert.Equal(12UL, m.Cpu[Gpr.Rdx]);
        Assert.Equal((ulong)BitConverter.DoubleToInt64Bits(12.25), m.Cpu[Gpr.R8]);
        Assert.Equal(1UL, m.Cpu[Gpr.R9] & 0xFF);
        Assert.Equal(3UL, m.Cpu[Gpr.R10]);
    }

    [Fact]
    public void Out_of_range_conversion_gives_integer_indefinite()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(rax, 0x7FF8000000000000UL); a.movq(xmm0, rax); a.cvttsd2si(ebx, xmm0); a.hlt(); }); // NaN
        m.RunClean();
        Assert.Equal(0x80000000UL, m.Cpu[Gpr.Rbx]);
    }

    [Fact]
    public void Shuffles_unpacks_and_byte_shifts()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(eax, 0x11223344); a.movd(xmm0, eax);
            a.pshufd(xmm1, xmm0, 0x00);                     // broadcast dword 0
            a.movdqa(xmm2, xmm1); a.psrldq(xmm2, 12);      // top dword moves to the bottom
            a.movd(ebx, xmm2);
            a.pextrw(ecx, xmm1, 7);                         // 0x1122
            a.movq(xmm3, rax); a.punpcklbw(xmm3, xmm3); a.movq(rdx, xmm3);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(0x11223344UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(0x1122UL, m.Cpu[Gpr.Rcx]);
        Assert.Equal(0x1111222233334444UL, m.Cpu[Gpr.Rdx]);
    }

    [Fact]
    public void Misaligned_movdqa_is_GP()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(rax, TestMachine.Data + 8); a.movdqa(xmm0, __xmmword_ptr[rax]); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.GP, m.Vector);
    }

    [Fact]
    public void Sse_with_CR0_TS_is_NM_and_without_OSFXSR_is_UD()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(rax, cr0); a.or(eax, 8); a.mov(cr0, rax); a.pxor(xmm0, xmm0); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.NM, m.Vector);
        using var m2 = new TestMachine();
        m2.Load(a => { a.mov(rax, cr4); a.and(eax, ~0x200); a.mov(cr4, rax); a.pxor(xmm0, xmm0); a.hlt(); });
        m2.Run();
        Assert.Equal((ulong)Vec.UD, m2.Vector);
    }

    [Fact]
    public void Fxsave_fxrstor_round_trip()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(eax, 0x55AA); a.movd(xmm7, eax); a.mov(eax, 0x1234); a.movd(xmm15, eax);
            a.mov(rdi, TestMachine.Data);
            a.fxsave64(__[rdi]);
            a.pxor(xmm7, xmm7); a.pxor(xmm15, xmm15);
            a.fxrstor64(__[rdi]);
            a.movd(ebx, xmm7); a.movd(ecx, xmm15);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(0x55AAUL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(0x1234UL, m.Cpu[Gpr.Rcx]);
        Assert.Equal(0x037FUL, m.R64(TestMachine.Data) & 0xFFFF);     // FCW after reset
        Assert.Equal(0x1F80UL, m.R64(TestMachine.Data + 24) & 0xFFFFFFFF); // MXCSR
        Assert.Equal(0x55AAUL, m.R64(TestMachine.Data + 160 + 7 * 16));
    }
}

/// <summary>Byte-masked stores through RDI (left out of the differential test, whose harness owns RDI).</summary>
public class MaskedStoreTests
{
    [Fact]
    public void Maskmovq_and_maskmovdqu_store_only_selected_bytes()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(rdi, TestMachine.Data);
            a.mov(rax, 0x1122334455667788UL); a.movq(mm0, rax);
            a.mov(rax, 0x8000800080008000UL); a.movq(mm1, rax);
            a.maskmovq(mm0, mm1);
            a.emms();
            a.mov(rdi, TestMachine.Data + 16);
            a.mov(rcx, 0x1122334455667788UL); a.movq(xmm0, rcx); a.pshufd(xmm0, xmm0, 0x44); // data in both halves
            a.movq(xmm1, rax); a.pslldq(xmm1, 8);            // mask only in the high half
            a.maskmovdqu(xmm0, xmm1);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(0x1100330055007700UL, m.R64(TestMachine.Data));
        Assert.Equal(0UL, m.R64(TestMachine.Data + 16));
        Assert.Equal(0x1100330055007700UL, m.R64(TestMachine.Data + 24));
    }
}

/// <summary>SSE float-to-integer conversions honour MXCSR.RC.</summary>
public class MxcsrRoundingTests
{
    [Theory]
    [InlineData(0, 2, -2)]   // nearest even: 2.5 -> 2, -2.5 -> -2
    [InlineData(1, 2, -3)]   // down
    [InlineData(2, 3, -2)]   // up
    [InlineData(3, 2, -2)]   // toward zero
    public void Cvtsd2si_and_cvtpd2dq_round_with_mxcsr_rc(int rc, long pos, long neg)
    {
        using var m = new TestMachine();
        m.W64(TestMachine.Data, 0x1F80UL | ((ulong)rc << 13));
        m.Load(a =>
        {
            a.mov(rdi, TestMachine.Data); a.ldmxcsr(__dword_ptr[rdi]);
            a.mov(rax, BitConverter.DoubleToUInt64Bits(2.5)); a.movq(xmm0, rax);
            a.mov(rax, BitConverter.DoubleToUInt64Bits(-2.5)); a.movq(xmm1, rax);
            a.cvtsd2si(rbx, xmm0); a.cvtsd2si(rcx, xmm1);
            a.unpcklpd(xmm0, xmm1); a.cvtpd2dq(xmm2, xmm0); a.movq(rdx, xmm2);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(pos, (long)m.Cpu[Gpr.Rbx]);
        Assert.Equal(neg, (long)m.Cpu[Gpr.Rcx]);
        Assert.Equal((ulong)(uint)(int)pos | ((ulong)(uint)(int)neg << 32), m.Cpu[Gpr.Rdx]);
    }
}
