using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>
/// #AC (vector 17, error code 0): a misaligned data access at CPL3 while CR0.AM and RFLAGS.AC are both set
/// (SDM vol. 3, 6.15 "Alignment Check Exception"); nothing when either is clear, at CPL0, or when aligned.
/// The user program ends with HLT, which at CPL3 is #GP: vector 13 means it got past the access.
/// </summary>
public class AlignmentCheckTests
{
    private const ulong User = 0x300000;

    private static TestMachine Run(bool am, ulong userFlags, Action<Assembler> user)
    {
        var m = new TestMachine();
        m.Load(a =>
        {
            if (am) { a.mov(rax, cr0); a.or(rax, 0x40000); a.mov(cr0, rax); }
            a.mov(rcx, User); a.mov(r11, userFlags); a.sysretq(); // to CPL3 with RFLAGS = R11
        });
        m.Load(user, User);
        m.Run();
        return m;
    }

    private static void Unaligned(Assembler a) { a.mov(rbx, TestMachine.Data + 1); a.mov(eax, __dword_ptr[rbx]); a.hlt(); }

    [Fact]
    public void A_misaligned_load_at_CPL3_with_AM_and_AC_raises_AC_with_error_code_0_at_the_load()
    {
        using var m = Run(am: true, userFlags: 0x40002, Unaligned);
        Assert.Equal(17UL, m.Vector);
        Assert.Equal(0UL, m.Frame(0));             // error code
        Assert.Equal(User + 10, m.Frame(1));      // RIP of the load (after the 10-byte mov rbx, imm64)
        Assert.Equal((ulong)TestMachine.UCode, m.Frame(2));
    }

    [Theory]
    [InlineData(false, 0x40002UL)] // CR0.AM clear
    [InlineData(true, 0x2UL)]      // RFLAGS.AC clear
    public void Without_both_AM_and_AC_a_misaligned_load_is_allowed(bool am, ulong flags)
    {
        using var m = Run(am, flags, Unaligned);
        Assert.Equal(13UL, m.Vector);
    }

    [Fact]
    public void Aligned_accesses_and_bytes_pass_with_alignment_checking_on()
    {
        using var m = Run(am: true, userFlags: 0x40002, a =>
        {
            a.mov(rbx, TestMachine.Data);
            a.mov(rax, __qword_ptr[rbx + 8]); a.mov(__dword_ptr[rbx + 4], eax); a.mov(al, __byte_ptr[rbx + 3]);
            a.push(rax); a.pop(rax);
            a.hlt();
        });
        Assert.Equal(13UL, m.Vector);
    }

    [Fact]
    public void AC_set_by_POPF_at_CPL3_checks_the_next_store()
    {
        using var m = Run(am: true, userFlags: 0x2, a =>
        {
            a.pushfq(); a.or(__qword_ptr[rsp], 0x40000); a.popfq();
            a.mov(rbx, TestMachine.Data + 2); a.mov(__qword_ptr[rbx], rax);
            a.hlt();
        });
        Assert.Equal(17UL, m.Vector);
        Assert.Equal(0UL, m.Frame(0));
    }

    [Fact]
    public void Kernel_accesses_are_not_checked_even_with_AM_and_AC()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(rax, cr0); a.or(rax, 0x40000); a.mov(cr0, rax);
            a.pushfq(); a.or(__qword_ptr[rsp], 0x40000); a.popfq();
            a.mov(rbx, TestMachine.Data + 1); a.mov(eax, __dword_ptr[rbx]);
            a.mov(r9, 1UL); a.hlt();
        });
        m.Run();
        Assert.Equal(1UL, m.Cpu[Execution.Gpr.R9]);
    }
}
