using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;
using P = HyperSharp.Hypervisor.Emulated.Tests.Protected32Machine;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>
/// Task switches in 32-bit protected mode (SDM Vol. 3, 7.3): JMP/CALL to a TSS or a task gate, INT and exceptions
/// through IDT task gates, IRET with NT back along the link; busy bits, back link, NT, CR0.TS, the state saved in the
/// old TSS and loaded from the new one, and the checks' error codes. In long mode they are #GP.
/// </summary>
public class TaskSwitchTests
{
    private const ushort TaskB = 0x30, TaskGate = 0x38;
    private const ulong TssB = 0x3100, CodeB = 0x12000, StackB = 0x7800;

    /// <summary>A 32-bit TSS for flat kernel code at <paramref name="eip"/>: EFLAGS 2, ESP <paramref name="esp"/>, EAX <paramref name="eax"/>.</summary>
    private static void WriteTss(P m, ulong at, ulong eip, ulong esp, uint eax, ushort cs = P.KernelCs, ushort ss = P.KernelDs)
    {
        m.W32(at + 0x20, (uint)eip); m.W32(at + 0x24, 2); m.W32(at + 0x28, eax); m.W32(at + 0x38, (uint)esp);
        ushort[] sels = { P.KernelDs, cs, ss, P.KernelDs, P.KernelDs, P.KernelDs };
        for (int i = 0; i < 6; i++) m.W32(at + 0x48 + (ulong)i * 4, sels[i]);
    }

    private static int TypeOf(P m, ushort sel) => (int)(BitConverter.ToUInt64(m.Memory.Span(P.Gdt + sel, 8)) >> 40) & 0xF;

    /// <summary>Task B's code: records EAX, EFLAGS, TR, CR0 and its back link in results 0-4, then IRETs or halts.</summary>
    private static void LoadTaskB(P m, bool iret)
    {
        m.Load(CodeB, a =>
        {
            a.mov(__dword_ptr[P.Results], eax);
            a.pushfd(); a.pop(__dword_ptr[P.Results + 4]);
            a.str(ax); a.movzx(eax, ax); a.mov(__dword_ptr[P.Results + 8], eax);
            a.mov(eax, cr0); a.mov(__dword_ptr[P.Results + 12], eax);
            a.movzx(eax, __word_ptr[TssB]); a.mov(__dword_ptr[P.Results + 16], eax);
            a.mov(eax, 0x3333);
            if (iret) a.iretd(); else a.hlt();
        });
    }

    /// <summary>Task A (the starting task): EAX/EBX set, the switching instruction, then EAX, EBX and TR into results 8-10.</summary>
    private static ulong LoadTaskA(P m, Action<Iced.Intel.Assembler> switchInstruction)
    {
        var bytes = Asm.At(32, P.Code, a =>
        {
            a.mov(eax, 0x1111); a.mov(ebx, 0x2222);
            switchInstruction(a);
            a.mov(__dword_ptr[P.Results + 32], eax); a.mov(__dword_ptr[P.Results + 36], ebx);
            a.str(ax); a.movzx(eax, ax); a.mov(__dword_ptr[P.Results + 40], eax);
            a.hlt();
        });
        m.Memory.Write(P.Code, bytes);
        return P.Code + 10; // past the two 5-byte MOVs: the switching instruction
    }

    [Fact]
    public void A_TSS_with_its_T_bit_set_raises_a_debug_trap_in_the_new_task_before_its_first_instruction()
    {
        using var m = new P();
        WriteTss(m, TssB, CodeB, StackB, eax: 0xB0B0);
        m.W32(TssB + 0x64, 1); // T
        m.W64(P.Gdt + TaskB, P.TssDescriptor(TssB, busy: false));
        LoadTaskB(m, iret: true);
        LoadTaskA(m, a => a.call(TaskB, 0));
        m.Run();
        Assert.Equal(1u, m.Vector);                                    // #DB ...
        Assert.Equal((uint)CodeB, m.FaultEip);                         // ... at B's first instruction, not yet run
        Assert.Equal(0u, m.Result(0));
        Assert.NotEqual(0UL, m.Cpu.GetState().Dr[6] & 0x8000);         // DR6.BT
        Assert.Equal(TaskB, m.Cpu.GetState().Tr.Selector);             // in the new task
    }

    [Fact]
    public void Call_to_a_TSS_nests_the_task_and_IRET_returns_along_the_back_link()
    {
        using var m = new P();
        WriteTss(m, TssB, CodeB, StackB, eax: 0xB0B0);
        m.W64(P.Gdt + TaskB, P.TssDescriptor(TssB, busy: false));
        LoadTaskB(m, iret: true);
        ulong call = LoadTaskA(m, a => a.call(TaskB, 0));
        m.Run();
        Assert.True(P.NoVector == m.Vector, $"#{m.Vector}({m.ErrorCode:X}) at {m.FaultEip:X}");
        Assert.Equal(0xB0B0u, m.Result(0));                            // B's registers from its TSS
        Assert.NotEqual(0u, m.Result(1) & 0x4000);                     // NT set: B was called
        Assert.Equal(TaskB, (ushort)m.Result(2));                      // TR
        Assert.NotEqual(0u, m.Result(3) & 8);                          // CR0.TS
        Assert.Equal(P.TssSel, (ushort)m.Result(4));                   // back link to A
        Assert.Equal(0x1111u, m.Result(8));                            // A's state came back from its TSS
        Assert.Equal(0x2222u, m.Result(9));
        Assert.Equal(P.TssSel, (ushort)m.Result(10));
        Assert.Equal((uint)(call + 7), m.R32(P.Tss + 0x20));           // A's saved EIP: after the 7-byte CALL
        Assert.Equal(0x3333u, m.R32(TssB + 0x28));                     // B's state saved by the IRET...
        Assert.Equal(0u, m.R32(TssB + 0x24) & 0x4000);                 // ...with NT clear in its saved EFLAGS
        Assert.Equal(0x9, TypeOf(m, TaskB));                           // B no longer busy; A still busy
        Assert.Equal(0xB, TypeOf(m, P.TssSel));
    }

    [Fact]
    public void Call_to_a_16_bit_TSS_loads_and_saves_its_word_layout()
    {
        using var m = new P();
        const ulong tss16 = 0x3200, code16 = 0x6000; // a 16-bit TSS holds IP: the code sits below 64 KiB
        m.Memory.Write(tss16 + 0x0E, BitConverter.GetBytes((ushort)code16));
        m.Memory.Write(tss16 + 0x10, BitConverter.GetBytes((ushort)2));
        m.Memory.Write(tss16 + 0x12, BitConverter.GetBytes((ushort)0xB0B0));     // AX
        m.Memory.Write(tss16 + 0x1A, BitConverter.GetBytes((ushort)0x7000));     // SP
        ushort[] sels = { P.KernelDs, P.KernelCs, P.KernelDs, P.KernelDs };      // ES CS SS DS
        for (int i = 0; i < 4; i++) m.Memory.Write(tss16 + 0x22 + (ulong)i * 2, BitConverter.GetBytes(sels[i]));
        m.W64(P.Gdt + TaskB, (P.TssDescriptor(tss16, busy: false) & ~(0xFFUL << 40 | 0xFFFFUL)) | 0x2B | 0x81UL << 40);
        m.Load(code16, a =>
        {
            a.mov(__dword_ptr[P.Results], eax);
            a.pushfd(); a.pop(__dword_ptr[P.Results + 4]);
            a.movzx(eax, __word_ptr[tss16]); a.mov(__dword_ptr[P.Results + 16], eax);
            a.mov(eax, 0x3333);
            a.iretd();
        });
        LoadTaskA(m, a => a.call(TaskB, 0));
        m.Run();
        Assert.True(P.NoVector == m.Vector, $"#{m.Vector}({m.ErrorCode:X}) at {m.FaultEip:X}");
        Assert.Equal(0xB0B0u, m.Result(0));
        Assert.NotEqual(0u, m.Result(1) & 0x4000);
        Assert.Equal(P.TssSel, (ushort)m.Result(4));
        Assert.Equal(0x1111u, m.Result(8));
        Assert.Equal(0x3333, BitConverter.ToUInt16(m.Memory.Span(tss16 + 0x12, 2)));        // AX saved by the IRET
        Assert.Equal((ushort)(code16 + 0x1E), BitConverter.ToUInt16(m.Memory.Span(tss16 + 0x0E, 2))); // IP after the IRETD (30 bytes in)
        Assert.Equal(0x1, TypeOf(m, TaskB));
    }

    [Fact]
    public void Jmp_through_a_task_gate_leaves_no_link_and_frees_the_old_task()
    {
        using var m = new P();
        WriteTss(m, TssB, CodeB, StackB, eax: 0xB0B0);
        m.W64(P.Gdt + TaskB, P.TssDescriptor(TssB, busy: false));
        m.W64(P.Gdt + TaskGate, (ulong)TaskB << 16 | 0x85UL << 40); // task gate, DPL 0
        LoadTaskB(m, iret: false);
        ulong jmp = LoadTaskA(m, a => a.jmp(TaskGate, 0));
        m.Run();
        Assert.Equal(P.NoVector, m.Vector);
        Assert.Equal(0u, m.Result(1) & 0x4000);                        // NT clear: not nested
        Assert.Equal(TaskB, (ushort)m.Result(2));
        Assert.Equal(0u, m.Result(4));                                 // no back link written
        Assert.Equal((uint)(jmp + 7), m.R32(P.Tss + 0x20));
        Assert.Equal(0x1111u, m.R32(P.Tss + 0x28));                    // A's EAX and EBX saved
        Assert.Equal(0x2222u, m.R32(P.Tss + 0x34));
        Assert.Equal(0xB, TypeOf(m, TaskB));
        Assert.Equal(0x9, TypeOf(m, P.TssSel));                        // A available again
    }

    [Fact]
    public void Int_through_an_IDT_task_gate_switches_and_IRET_comes_back_after_the_INT()
    {
        using var m = new P();
        WriteTss(m, TssB, CodeB, StackB, eax: 0xB0B0);
        m.W64(P.Gdt + TaskB, P.TssDescriptor(TssB, busy: false));
        m.W64(P.Idt + 0x1F * 8, (ulong)TaskB << 16 | 0x85UL << 40);
        LoadTaskB(m, iret: true);
        LoadTaskA(m, a => a.@int(0x1F));
        m.Run();
        Assert.Equal(P.NoVector, m.Vector);
        Assert.NotEqual(0u, m.Result(1) & 0x4000);
        Assert.Equal(P.TssSel, (ushort)m.Result(4));
        Assert.Equal(0x1111u, m.Result(8));
        Assert.Equal(P.TssSel, (ushort)m.Result(10));
    }

    [Fact]
    public void Exception_through_a_task_gate_pushes_its_error_code_on_the_new_task_stack()
    {
        using var m = new P();
        WriteTss(m, TssB, CodeB, StackB, eax: 0);
        m.W64(P.Gdt + TaskB, P.TssDescriptor(TssB, busy: false));
        m.W64(P.Idt + 13 * 8, (ulong)TaskB << 16 | 0x85UL << 40);     // #GP -> task B
        m.Load(CodeB, a => { a.pop(__dword_ptr[P.Results]); a.mov(__dword_ptr[P.Results + 4], esp); a.hlt(); });
        m.Load(P.Code, a => { a.mov(eax, 0x4B); a.mov(ds, ax); a.hlt(); }); // selector beyond nothing: #GP(0x48)
        m.Run();
        Assert.Equal(0x48u, m.Result(0));
        Assert.Equal(StackB, m.Result(1));
        Assert.Equal((uint)P.Code + 5, m.R32(P.Tss + 0x20));           // A's saved EIP: the faulting MOV DS
    }

    [Theory]
    [InlineData("JMP to a busy TSS", 13, P.TssSel)]
    [InlineData("JMP to a not-present TSS", 11, TaskB)]
    [InlineData("JMP to a TSS with a limit below 0x67", 10, TaskB)]
    [InlineData("JMP to a task gate naming an LDT selector", 13, 0x34)]
    [InlineData("IRET with NT and a back link to an available TSS", 10, TaskB)]
    [InlineData("new task with a data segment as CS", 10, P.KernelDs)]
    public void Task_switch_checks_fault_with_the_documented_error_codes(string what, int vector, int error)
    {
        using var m = new P();
        WriteTss(m, TssB, CodeB, StackB, eax: 0, cs: what.Contains("as CS") ? P.KernelDs : P.KernelCs);
        ulong desc = P.TssDescriptor(TssB, busy: false);
        if (what.Contains("not-present")) desc &= ~(1UL << 47);
        if (what.Contains("limit")) desc = (desc & ~0xFFFFUL) | 0x50;
        m.W64(P.Gdt + TaskB, desc);
        m.W64(P.Gdt + TaskGate, (ulong)(TaskB | 4) << 16 | 0x85UL << 40);
        m.Load(CodeB, a => a.hlt());
        m.Load(P.Code, a =>
        {
            if (what.Contains("busy")) a.jmp(P.TssSel, 0);
            else if (what.Contains("task gate")) a.jmp(TaskGate, 0);
            else if (what.StartsWith("IRET"))
            {
                a.mov(__word_ptr[P.Tss], TaskB);
                a.pushfd(); a.or(__dword_ptr[esp], 0x4000); a.popfd();
                a.iretd();
            }
            else a.jmp(TaskB, 0);
        });
        m.Run();
        Assert.Equal((uint)vector, m.Vector);
        Assert.Equal((uint)error, m.ErrorCode);
        // Checks of the new TSS fault in the old task; a bad segment in the new task faults there, at its first instruction.
        // (IRET sits after a 9-byte MOV, PUSHFD, a 7-byte OR and POPFD.)
        Assert.Equal(what.StartsWith("new task") ? (uint)CodeB : what.StartsWith("IRET") ? (uint)P.Code + 18 : (uint)P.Code, m.FaultEip);
    }

    [Fact]
    public void Far_jump_to_a_TSS_in_long_mode_is_GP()
    {
        using var m = new TestMachine();
        m.Load(a => { a.jmp(__fword_ptr[TestMachine.Data]); a.hlt(); });
        m.W64(TestMachine.Data, (ulong)TestMachine.TssSel << 32);
        m.Run();
        Assert.Equal((ulong)Vec.GP, m.Vector);
        Assert.Equal((ulong)TestMachine.TssSel, m.Frame(0));
    }
}
