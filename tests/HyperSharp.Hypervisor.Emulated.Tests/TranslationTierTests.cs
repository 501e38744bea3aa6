using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>
/// Compiled blocks (both tiers) must be indistinguishable from the interpreter: the same registers, flags,
/// memory and retired-instruction count, and, when an instruction faults inside a compiled block, the same
/// RIP, exception frame and CR2.
/// </summary>
public class TranslationTierTests
{
    /// <summary>Everything a program can leave behind: GPRs, RIP, RFLAGS, CR2, retired instructions, the stack
    /// page (exception frames) and the data page.</summary>
    private static string Outcome(TestMachine m)
    {
        var s = m.Cpu.GetState();
        return $"gpr {string.Join(",", s.Gpr.Select(v => v.ToString("X")))} rip {s.Rip:X} rflags {s.Rflags:X} cr2 {s.Cr2:X} "
            + $"retired {m.Cpu.InstructionCount} stack {Convert.ToHexString(m.Memory.Span(TestMachine.StackTop - 0x100, 0x100))} "
            + $"data {Convert.ToHexString(m.Memory.Span(TestMachine.Data, 0x400))}";
    }

    private static (string Outcome, TestMachine Machine) RunOn(string tier, Action<Assembler> program, ProcessorVendor vendor = ProcessorVendor.Intel)
    {
        var m = new TestMachine(vendor: vendor).OnTier(tier);
        m.Load(program);
        Assert.Equal(CpuExitReason.Halted, m.Run());
        return (Outcome(m), m);
    }

    public static TheoryData<string> CompiledTiers => new() { "quick", "optimized" };

    [Theory]
    [MemberData(nameof(CompiledTiers))]
    public void A_fault_in_a_hot_compiled_loop_leaves_the_interpreters_state(string tier)
    {
        // A loop that sums qwords walking up to the end of the mapped first GiB: on its 40th pass the load
        // crosses into unmapped memory and faults (#PF, delivered to the IDT stub), mid-block, after ALU
        // instructions whose lazy flags and a store that must have retired.
        const ulong edge = 0x40000000;
        void Program(Assembler a)
        {
            var loop = a.CreateLabel();
            a.mov(rbx, edge - 40 * 8); a.xor(eax, eax); a.xor(ecx, ecx); a.mov(rdi, TestMachine.Data);
            a.Label(ref loop);
            a.add(rax, rcx);
            a.mov(__qword_ptr[rdi + rcx * 8], rax);
            a.sub(rdx, rax);
            a.mov(rsi, __qword_ptr[rbx]);   // faults when rbx reaches the edge
            a.add(rbx, 8);
            a.inc(ecx);
            a.jmp(loop);
        }
        var (expected, reference) = RunOn("interpreter", Program);
        var (actual, compiled) = RunOn(tier, Program);
        using (reference) using (compiled)
        {
            Assert.Equal(14UL, compiled.Vector);
            Assert.Equal(edge, compiled.Cpu.GetState().Cr2);
            Assert.Equal(expected, actual);
            Assert.True(BlockCompiler.QuickCompiled + BlockCompiler.OptimizedCompiled > 0);
        }
    }

    [Theory]
    [MemberData(nameof(CompiledTiers))]
    public void Calls_strings_and_flags_across_compiled_blocks_match_the_interpreter(string tier)
    {
        // Calls and returns between blocks, a REP MOVSB, flags carried from one block into the next (ADC after a
        // compare in another block), byte registers (AH) and 16-bit merges, ending in a divide error.
        void Program(Assembler a)
        {
            var fn = a.CreateLabel();
            var loop = a.CreateLabel();
            a.mov(ecx, 300); a.mov(rbx, 0x0123456789ABCDEF); a.xor(eax, eax); a.xor(edx, edx);
            a.Label(ref loop);
            a.call(fn);
            a.adc(rax, rbx);
            a.mov(ah, bl); a.add(dx, ax); a.rol(rbx, 7); a.xor(bh, ah);
            a.dec(ecx);
            a.jnz(loop);
            a.mov(rsi, TestMachine.CodeBase); a.mov(rdi, TestMachine.Data + 0x100); a.mov(ecx, 64); a.rep.movsb();
            a.mov(rdi, TestMachine.Data); a.mov(__qword_ptr[rdi], rax);
            a.xor(ecx, ecx);
            a.div(rcx);                     // #DE: the run ends in the IDT stub
            a.hlt();
            a.Label(ref fn);
            a.imul(rbx, rbx, 3);
            a.cmp(rbx, rax);
            a.ret();
        }
        var (expected, reference) = RunOn("interpreter", Program);
        var (actual, compiled) = RunOn(tier, Program);
        using (reference) using (compiled)
        {
            Assert.Equal(0UL, compiled.Vector);
            Assert.Equal(expected, actual);
        }
    }

    public static TheoryData<string, ProcessorVendor> CompiledTiersAndVendors => new()
    {
        { "quick", ProcessorVendor.Intel }, { "optimized", ProcessorVendor.Intel }, { "quick", ProcessorVendor.Amd }, { "optimized", ProcessorVendor.Amd },
    };

    [Theory]
    [MemberData(nameof(CompiledTiersAndVendors))]
    public void Undefined_results_in_compiled_blocks_are_the_presented_vendors(string tier, ProcessorVendor vendor)
    {
        // Every instruction whose flags the manuals leave (partly) undefined and the vendors set differently, each
        // followed by a PUSHF into the data page: the compiled code must produce the interpreter's values for the
        // vendor (the corpora hold the interpreter to each vendor's hardware), and the two vendors must differ.
        void Program(Assembler a)
        {
            a.mov(rdi, TestMachine.Data); a.mov(rsp, TestMachine.Data + 0x400);
            a.mov(rax, 0x8123456789ABCDEF); a.mov(rbx, 0x4000000000000081); a.mov(ecx, 5); a.mov(edx, 0x7F);
            int slot = 0;
            void Record() { a.pushfq(); a.pop(__qword_ptr[rdi + slot++ * 8]); }
            a.stc(); a.rol(rax, cl); Record();          // OF from the operand (Intel) or the result (AMD)
            a.ror(eax, 7); Record();                    // by an immediate into a register: Intel keeps OF
            a.rcr(bl, 9); Record();                     // rotated by 9 through CF: Intel changes nothing
            a.rcl(rbx, cl); Record();
            a.shl(rdx, cl); Record();                   // AF: Intel 0, AMD 1
            a.shr(rax, cl); Record();
            a.sar(ebx, 3); Record();
            a.shld(rax, rbx, cl); Record();
            a.shrd(rbx, rax, 9); Record();
            a.mov(eax, 0x10000); a.mul(eax); Record();  // low half 0: Intel ZF = 0, AMD keeps SF ZF AF PF
            a.imul(rbx, rax, 3); Record();
            a.mov(eax, 100); a.xor(edx, edx); a.mov(ecx, 7); a.div(ecx); Record(); // Intel keeps every flag, AMD sets AF only
            a.bsf(rsi, rbx); Record();
            a.hlt();
        }
        var (expected, reference) = RunOn("interpreter", Program, vendor);
        var (actual, compiled) = RunOn(tier, Program, vendor);
        var (other, otherVendor) = RunOn(tier, Program, vendor == ProcessorVendor.Intel ? ProcessorVendor.Amd : ProcessorVendor.Intel);
        using (reference) using (compiled) using (otherVendor)
        {
            Assert.Equal(expected, actual);
            Assert.NotEqual(expected, other);
        }
    }

    [Fact]
    public unsafe void Handlers_of_instruction_groups_outside_X86Cpu_are_known_to_the_optimizing_tier()
    {
        // The optimizing tier calls a handler directly only when HandlerMethods maps its pointer back to a method:
        // a group moved out of X86Cpu and missed there would silently fall back to indirect calls.
        delegate*<X86Cpu, ref HyperSharp.Hypervisor.Emulated.Decoding.DecodedInstruction, int> movsb = &StringInstructions.StringOp<S8>;
        Assert.Equal("StringOp", HandlerMethods.Find((nint)movsb)?.Name);
    }
}
