using System.Runtime.Intrinsics;
using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>
/// MXCSR: exception flags, #XM (or #UD without CR4.OSXMMEXCPT) with the destination unchanged, the split between
/// pre-computation (IE DE ZE) and post-computation (OE UE PE) exceptions of packed instructions (SDM Vol. 1, 11.5.1),
/// rounding control, FTZ and DAZ. (The differential tests compare all of this against the processor at random.)
/// </summary>
public class SimdExceptionTests
{
    private const uint Default = 0x1F80, ZM = 0x200, PM = 0x1000, IE = 1, DE = 2, ZE = 4, UE = 0x10, PE = 0x20;

    /// <summary>DIVPS of xmm0 = {1, 1, 1, 1} by xmm1 = {3, <paramref name="second"/>, 1, 1} under <paramref name="mxcsr"/>.</summary>
    private static TestMachine Divps(uint mxcsr, float second, bool osxmmexcpt = true)
    {
        var m = new TestMachine();
        m.W64(TestMachine.Data, mxcsr);
        m.W64(TestMachine.Data + 16, (ulong)BitConverter.SingleToUInt32Bits(1f) | ((ulong)BitConverter.SingleToUInt32Bits(1f) << 32));
        m.W64(TestMachine.Data + 24, (ulong)BitConverter.SingleToUInt32Bits(1f) | ((ulong)BitConverter.SingleToUInt32Bits(1f) << 32));
        m.W64(TestMachine.Data + 32, (ulong)BitConverter.SingleToUInt32Bits(3f) | ((ulong)BitConverter.SingleToUInt32Bits(second) << 32));
        m.W64(TestMachine.Data + 40, (ulong)BitConverter.SingleToUInt32Bits(1f) | ((ulong)BitConverter.SingleToUInt32Bits(1f) << 32));
        m.Load(a =>
        {
            a.mov(rax, cr4);
            if (osxmmexcpt) a.or(eax, 0x400); else a.and(eax, ~0x400);
            a.mov(cr4, rax);
            a.mov(rdi, TestMachine.Data); a.ldmxcsr(__dword_ptr[rdi]);
            a.movaps(xmm0, __xmmword_ptr[rdi + 16]); a.movaps(xmm1, __xmmword_ptr[rdi + 32]);
            a.divps(xmm0, xmm1);
            a.hlt();
        });
        m.Run();
        return m;
    }

    private static float Lane(TestMachine m, int i) => m.Cpu.Sse.Xmm(0).AsSingle()[i];

    [Fact]
    public void Masked_exceptions_set_sticky_flags_and_give_the_masked_responses()
    {
        using var m = Divps(Default | IE, 0f);
        Assert.Equal(TestMachine.NoVector, m.Vector);
        Assert.Equal(Default | IE | ZE | PE, m.Cpu.Sse.Mxcsr); // IE was set before and stays; 1/3 is inexact, 1/0 divides by zero
        Assert.Equal(1f / 3f, Lane(m, 0));
        Assert.Equal(float.PositiveInfinity, Lane(m, 1));
    }

    [Fact]
    public void Unmasked_precomputation_exception_faults_before_any_element_is_computed()
    {
        using var m = Divps(Default & ~ZM, 0f);
        Assert.Equal((ulong)Vec.XM, m.Vector);
        Assert.Equal((Default & ~ZM) | ZE, m.Cpu.Sse.Mxcsr); // no PE: element 0's rounding never happened
        Assert.Equal(1f, Lane(m, 0));
        Assert.Equal(1f, Lane(m, 1));
    }

    [Fact]
    public void Unmasked_postcomputation_exception_sets_every_flag_and_leaves_the_destination()
    {
        using var m = Divps(Default & ~PM, 0f);
        Assert.Equal((ulong)Vec.XM, m.Vector);
        Assert.Equal((Default & ~PM) | ZE | PE, m.Cpu.Sse.Mxcsr);
        Assert.Equal(1f, Lane(m, 0));
        Assert.Equal(1f, Lane(m, 1));
    }

    [Fact]
    public void Without_CR4_OSXMMEXCPT_an_unmasked_exception_is_UD()
    {
        using var m = Divps(Default & ~ZM, 0f, osxmmexcpt: false);
        Assert.Equal((ulong)Vec.UD, m.Vector);
        Assert.Equal(1f, Lane(m, 1));
    }

    [Theory]
    [InlineData(0u, 0x3EAAAAABu)] // nearest
    [InlineData(1u, 0x3EAAAAAAu)] // down
    [InlineData(2u, 0x3EAAAAABu)] // up
    [InlineData(3u, 0x3EAAAAAAu)] // toward zero
    public void Rounding_control_applies_to_arithmetic(uint rc, uint third)
    {
        using var m = Divps(Default | (rc << 13), 1f);
        Assert.Equal(third, BitConverter.SingleToUInt32Bits(Lane(m, 0)));
        Assert.Equal(Default | (rc << 13) | PE, m.Cpu.Sse.Mxcsr);
    }

    [Fact]
    public void Daz_reads_denormals_as_zero_and_ftz_flushes_tiny_results()
    {
        float denormal = BitConverter.UInt32BitsToSingle(1);
        using var plain = Divps(Default, denormal);        // 1 / denormal overflows (masked): +inf
        Assert.Equal(float.PositiveInfinity, Lane(plain, 1));
        Assert.Equal(Default | DE | 0x8 | PE, plain.Cpu.Sse.Mxcsr);
        using var daz = Divps(Default | 0x40, denormal);    // the denormal is a zero: division by zero, no DE
        Assert.Equal(float.PositiveInfinity, Lane(daz, 1));
        Assert.Equal(Default | 0x40 | ZE | PE, daz.Cpu.Sse.Mxcsr);
        using var ftz = Divps(Default | 0x8000, 1e38f);    // 1 / 1e38 is tiny: zero, with UE and PE
        Assert.Equal(0f, Lane(ftz, 1));
        Assert.Equal(Default | 0x8000 | UE | PE, ftz.Cpu.Sse.Mxcsr);
    }
}
