using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>Flag results of the ALU groups on edge values, as the SDM's instruction pages define them.</summary>
public class ArithmeticFlagsTests
{
    private const ulong CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
    private const ulong Status = CF | PF | AF | ZF | SF | OF;

    /// <summary>Runs "setup; op; pushfq; pop r14; hlt" and returns (rax, status flags).</summary>
    private static (ulong rax, ulong flags) Run(Action<Assembler> body, ulong initialFlags = 2)
    {
        using var m = new TestMachine();
        m.Load(a => { body(a); a.pushfq(); a.pop(r14); a.hlt(); });
        m.Cpu.Rflags = initialFlags;
        m.RunClean();
        return (m.Cpu[Gpr.Rax], m.Cpu[Gpr.R14] & Status);
    }

    [Fact]
    public void Add_signed_overflow_sets_OF_SF_AF_not_CF()
    {
        var (r, f) = Run(a => { a.mov(eax, 0x7FFFFFFF); a.add(eax, 1); });
        Assert.Equal(0x80000000UL, r);
        Assert.Equal(OF | SF | AF | PF, f);
    }

    [Fact]
    public void Rotate_after_add_replaces_CF_OF_and_keeps_the_adds_SF_ZF_PF_AF()
    {
        // add leaves lazy flags (AF set, the rest clear); rol 1 of 0x80000001 gives 3 with CF = 1, OF = 0 ^ 1.
        var (_, f) = Run(a => { a.mov(eax, 0x0F); a.add(eax, 1); a.mov(ecx, 0x80000001); a.rol(ecx, 1); });
        Assert.Equal(AF | CF | OF, f);
    }

    [Fact]
    public void Bt_after_add_replaces_only_CF()
    {
        var (_, f) = Run(a => { a.mov(eax, 0x7FFFFFFF); a.add(eax, 1); a.mov(ecx, 1); a.bt(ecx, 0); });
        Assert.Equal(OF | SF | AF | PF | CF, f);
    }

    [Fact]
    public void Rotate_after_inc_keeps_the_incs_flags_but_its_own_CF()
    {
        // inc 0xFF (byte) -> 0: ZF PF AF, CF kept from before (set by stc); ror 1 of 2 gives 1, CF = 0, OF = 0.
        var (_, f) = Run(a => { a.stc(); a.mov(al, 0xFF); a.inc(al); a.mov(ecx, 2); a.ror(ecx, 1); });
        Assert.Equal(ZF | PF | AF, f);
    }

    [Fact]
    public void Add_unsigned_wrap_sets_CF_ZF_PF()
    {
        var (r, f) = Run(a => { a.mov(al, 0xFF); a.add(al, 1); });
        Assert.Equal(0UL, r & 0xFF);
        Assert.Equal(CF | ZF | PF | AF, f);
    }

    [Fact]
    public void Adc_uses_carry_in_and_carries_out_of_max()
    {
        // stc; mov rax, -1; adc rax, 0 -> 0 with CF=1 ZF=1 (carry-in makes it wrap)
        var (r, f) = Run(a => { a.stc(); a.mov(rax, -1L); a.adc(rax, 0); });
        Assert.Equal(0UL, r);
        Assert.Equal(CF | ZF | PF | AF, f);
        // FF + FF + 1 = 1FF: the result equals the destination, the case where "result < dst" misses the carry
        var (r2, f2) = Run(a => { a.stc(); a.mov(al, 0xFF); a.adc(al, 0xFF); });
        Assert.Equal(0xFFUL, r2 & 0xFF);
        Assert.Equal(CF | SF | PF | AF, f2);
    }

    [Fact]
    public void Sbb_with_borrow_in_equal_operands_borrows()
    {
        var (r, f) = Run(a => { a.stc(); a.mov(ax, 5); a.sbb(ax, 5); });
        Assert.Equal(0xFFFFUL, r & 0xFFFF);
        Assert.Equal(CF | SF | PF | AF, f);
    }

    [Fact]
    public void Sub_signed_overflow_min_minus_one()
    {
        var (r, f) = Run(a => { a.mov(rax, long.MinValue); a.sub(rax, 1); });
        Assert.Equal(0x7FFFFFFFFFFFFFFFUL, r);
        Assert.Equal(OF | AF | PF, f);
    }

    [Fact]
    public void Inc_keeps_CF_and_Dec_sets_OF_at_min()
    {
        var (r, f) = Run(a => { a.stc(); a.mov(eax, 0x80000000); a.dec(eax); });
        Assert.Equal(0x7FFFFFFFUL, r);
        Assert.Equal(CF | OF | AF | PF, f);
        var (r2, f2) = Run(a => { a.stc(); a.mov(al, 0x7F); a.inc(al); });
        Assert.Equal(0x80UL, r2 & 0xFF);
        Assert.Equal(CF | OF | SF | AF, f2);
    }

    [Fact]
    public void Neg_zero_clears_CF_and_neg_min_overflows()
    {
        var (_, f) = Run(a => { a.stc(); a.xor(eax, eax); a.neg(eax); });
        Assert.Equal(ZF | PF, f);
        var (r, f2) = Run(a => { a.mov(al, 0x80); a.neg(al); });
        Assert.Equal(0x80UL, r & 0xFF);
        Assert.Equal(CF | OF | SF, f2);
    }

    [Fact]
    public void Logic_clears_CF_OF_and_writes_32bit_zero_extended()
    {
        var (r, f) = Run(a => { a.mov(rax, -1L); a.stc(); a.and(eax, 0x80000000); });
        Assert.Equal(0x80000000UL, r);
        Assert.Equal(SF | PF, f);
    }

    [Fact]
    public void Shifts_set_CF_from_last_bit_out_and_OF_for_count_one()
    {
        var (r, f) = Run(a => { a.mov(al, 0xC0); a.shl(al, 1); });
        Assert.Equal(0x80UL, r & 0xFF);
        Assert.Equal(CF | SF, f);
        var (r2, f2) = Run(a => { a.mov(eax, 0x80000001); a.sar(eax, 1); });
        Assert.Equal(0xC0000000UL, r2);
        Assert.Equal(CF | SF | PF, f2);
        var (r3, f3) = Run(a => { a.mov(eax, 1); a.shr(eax, 1); });
        Assert.Equal(0UL, r3);
        Assert.Equal(CF | ZF | PF, f3);
    }

    [Fact]
    public void Shift_count_masked_to_zero_changes_no_flags()
    {
        var (r, f) = Run(a => { a.mov(cl, 32); a.mov(eax, 1); a.cmp(eax, 2); a.shl(eax, cl); });
        Assert.Equal(1UL, r);
        Assert.Equal(CF | SF | PF | AF, f); // flags of cmp 1,2 survive
    }

    [Fact]
    public void Rotates_touch_only_CF_and_OF()
    {
        var (r, f) = Run(a => { a.xor(eax, eax); a.mov(al, 0x81); a.rol(al, 1); });
        Assert.Equal(0x03UL, r & 0xFF);
        Assert.Equal(CF | ZF | PF, f & ~(ulong)OF); // ZF/PF from the xor stay
        var (r2, f2) = Run(a => { a.mov(eax, 1); a.clc(); a.rcr(eax, 1); });
        Assert.Equal(0UL, r2);
        Assert.Equal(CF, f2 & (CF | OF));
        var (r3, _) = Run(a => { a.mov(ax, 0x8000); a.stc(); a.rcl(ax, 2); }); // 17-bit rotate: CF:ax = 1:8000 -> 0003, CF=0
        Assert.Equal(0x0002UL | 1, r3 & 0xFFFF);
    }

    [Fact]
    public void Shld_shrd_shift_in_from_source()
    {
        var (r, _) = Run(a => { a.mov(eax, 0x12345678); a.mov(edx, 0x9ABCDEF0); a.shld(eax, edx, 8); });
        Assert.Equal(0x3456789AUL, r);
        var (r2, f2) = Run(a => { a.mov(eax, 0x12345678); a.mov(edx, 0x9ABCDEF0); a.shrd(eax, edx, 4); });
        Assert.Equal(0x01234567UL, r2);
        Assert.Equal(CF, f2 & CF);
    }

    [Fact]
    public void Mul_and_imul_flag_significant_upper_half()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(rax, -1L); a.mov(rcx, 2); a.mul(rcx);              // rdx:rax = 1:FFFF...FE, CF=OF=1
            a.mov(r8, rdx); a.mov(r9, rax); a.pushfq(); a.pop(r10);
            a.mov(rax, -3L); a.mov(rcx, 5); a.imul(rcx);             // -15 fits: CF=OF=0, rdx = -1
            a.mov(r11, rdx); a.pushfq(); a.pop(r12);
            a.mov(eax, 0x10000); a.imul(eax, eax, 0x10000);          // overflow in 32 bits
            a.pushfq(); a.pop(r13);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(1UL, m.Cpu[Gpr.R8]);
        Assert.Equal(0xFFFFFFFFFFFFFFFEUL, m.Cpu[Gpr.R9]);
        Assert.Equal(CF | OF, m.Cpu[Gpr.R10] & (CF | OF));
        Assert.Equal(ulong.MaxValue, m.Cpu[Gpr.R11]);
        Assert.Equal(0UL, m.Cpu[Gpr.R12] & (CF | OF));
        Assert.Equal(0UL, m.Cpu[Gpr.Rax]);
        Assert.Equal(CF | OF, m.Cpu[Gpr.R13] & (CF | OF));
    }

    [Fact]
    public void Div_and_idiv_results()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(edx, 1); a.mov(eax, 0); a.mov(ecx, 3); a.div(ecx);   // 0x1_0000_0000 / 3
            a.mov(r8, rax); a.mov(r9, rdx);
            a.mov(rax, -7L); a.cqo(); a.mov(rcx, 2); a.idiv(rcx);      // -3 rem -1
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(0x55555555UL, m.Cpu[Gpr.R8]);
        Assert.Equal(1UL, m.Cpu[Gpr.R9]);
        Assert.Equal(unchecked((ulong)-3L), m.Cpu[Gpr.Rax]);
        Assert.Equal(ulong.MaxValue, m.Cpu[Gpr.Rdx]);
    }

    [Fact]
    public void Jcc_signed_and_unsigned_conditions_after_cmp()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            var l1 = a.CreateLabel(); var l2 = a.CreateLabel(); var l3 = a.CreateLabel();
            a.xor(ebx, ebx);
            a.mov(eax, -1); a.cmp(eax, 1);
            a.jl(l1); a.or(ebx, 1); a.Label(ref l1);      // -1 < 1 signed: taken
            a.ja(l2); a.or(ebx, 2); a.Label(ref l2);      // 0xFFFFFFFF > 1 unsigned: taken
            a.jle(l3); a.or(ebx, 4); a.Label(ref l3);     // taken
            a.cmp(eax, -1); a.setne(cl); a.sete(dl);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(0UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(0UL, m.Cpu[Gpr.Rcx] & 0xFF);
        Assert.Equal(1UL, m.Cpu[Gpr.Rdx] & 0xFF);
    }

    [Fact]
    public void Bit_ops_and_scans()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(rax, 0x100UL); a.bts(rax, 3); a.setb(cl);   // bit 3 was 0
            a.bt(rax, 8); a.setb(dl);                         // bit 8 is 1
            a.bsf(r8, rax); a.bsr(r9, rax);
            a.popcnt(r10, rax);
            a.mov(r11, 77); a.xor(r12d, r12d); a.bsf(r11, r12); a.setz(bl); // zero source: dest kept, ZF=1
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(0x108UL, m.Cpu[Gpr.Rax]);
        Assert.Equal(0UL, m.Cpu[Gpr.Rcx] & 0xFF);
        Assert.Equal(1UL, m.Cpu[Gpr.Rdx] & 0xFF);
        Assert.Equal(3UL, m.Cpu[Gpr.R8]);
        Assert.Equal(8UL, m.Cpu[Gpr.R9]);
        Assert.Equal(2UL, m.Cpu[Gpr.R10]);
        Assert.Equal(77UL, m.Cpu[Gpr.R11]);
        Assert.Equal(1UL, m.Cpu[Gpr.Rbx] & 0xFF);
    }
}
