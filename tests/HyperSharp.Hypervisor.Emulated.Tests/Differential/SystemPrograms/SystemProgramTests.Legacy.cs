using static Iced.Intel.AssemblerRegisters;
using G = HyperSharp.Hypervisor.Emulated.Tests.Differential.SystemPrograms.SystemGuest;
using L = HyperSharp.Hypervisor.Emulated.Tests.Differential.SystemPrograms.LegacySystemGuest;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.SystemPrograms;

/// <summary>32-bit protected-mode programs: a call gate with parameters and task switches, on both backends.</summary>
public sealed partial class SystemProgramTests
{
    private const ushort LegacyGate = 0x30, TaskB = 0x38;
    private const ulong TssB = 0x6100, CodeB = 0x101000, Entry32 = 0x100800;

    private Outcome RunLegacy(Func<L, ulong> build, string? kvmHereDeviates = null) => RunOnBoth(hv => new L(hv), build, kvmHereDeviates);

    [Fact]
    public void Call_through_a_32_bit_gate_from_CPL3_switches_stacks_and_copies_parameters()
    {
        var o = RunLegacy(g =>
        {
            g.SetDescriptor(LegacyGate, Protected32Machine.CallGate(L.KernelCs, Entry32, dpl: 3, parameters: 2));
            g.Load(Entry32, a =>
            {
                a.mov(__dword_ptr[L.Results], esp);
                for (int i = 0; i < 6; i++) { a.mov(eax, __dword_ptr[esp + i * 4]); a.mov(__dword_ptr[L.Results + 4 + (ulong)i * 4], eax); }
                a.mov(eax, ss); a.mov(__dword_ptr[L.Results + 28], eax);
                a.@out(G.DonePort, al);
            });
            g.StartInUserMode = true;
            g.Load(L.UserCode, a => { a.push(0xBBBB); a.push(0xAAAA); a.call(LegacyGate | 3, 0); a.hlt(); });
            return 0;
        }, KvmGateDeviation);
        Assert.Equal(G.DonePort, o.Port);
        ulong R(int i) => BitConverter.ToUInt32(o.Results, i * 4);
        Assert.Equal(L.KernelStack - 24, R(0));
        Assert.Equal((ulong)L.UserCs, R(2));
        Assert.Equal(0xAAAAUL, R(3));
        Assert.Equal(0xBBBBUL, R(4));
        Assert.Equal(L.UserStack - 8, R(5));
        Assert.Equal((ulong)L.UserDs, R(6));
        Assert.Equal((ulong)L.KernelDs, R(7));
    }

    /// <summary>Task B: records EAX, EFLAGS, TR and its back link in results 0-3, then IRETs.</summary>
    private static void TaskBProgram(L g, uint eaxValue)
    {
        g.Write(TssB + 0x20, (uint)CodeB); g.Write(TssB + 0x24, 2); g.Write(TssB + 0x28, eaxValue); g.Write(TssB + 0x38, 0x7F000);
        ushort[] sels = { L.KernelDs, L.KernelCs, L.KernelDs, L.KernelDs, L.KernelDs, L.KernelDs };
        for (int i = 0; i < 6; i++) g.Write(TssB + 0x48 + (ulong)i * 4, sels[i]);
        g.SetDescriptor(TaskB, Protected32Machine.TssDescriptor(TssB, busy: false));
        g.Load(CodeB, a =>
        {
            a.mov(__dword_ptr[L.Results], eax);
            a.pushfd(); a.pop(__dword_ptr[L.Results + 4]);
            a.str(ax); a.movzx(eax, ax); a.mov(__dword_ptr[L.Results + 8], eax);
            a.movzx(eax, __word_ptr[TssB]); a.mov(__dword_ptr[L.Results + 12], eax);
            a.iretd();
        });
    }

    [Fact]
    public void Task_switch_by_CALL_to_a_TSS_and_back_by_IRET()
    {
        var o = RunLegacy(g =>
        {
            TaskBProgram(g, 0xB0B0);
            g.Load(L.Code, a =>
            {
                a.mov(eax, 0x1111);
                a.call(TaskB, 0);
                a.mov(__dword_ptr[L.Results + 32], eax);
                a.str(ax); a.movzx(eax, ax); a.mov(__dword_ptr[L.Results + 36], eax);
                a.@out(G.DonePort, al);
            });
            return 0;
        }, "its instruction emulator fails on a far CALL to a TSS in kernel code");
        Assert.Equal(G.DonePort, o.Port);
        ulong R(int i) => BitConverter.ToUInt32(o.Results, i * 4);
        Assert.Equal(0xB0B0UL, R(0));
        Assert.NotEqual(0UL, R(1) & 0x4000);  // NT
        Assert.Equal((ulong)TaskB, R(2));
        Assert.Equal((ulong)L.TssSel, R(3));  // back link
        Assert.Equal(0x1111UL, R(8));
        Assert.Equal((ulong)L.TssSel, R(9));
    }

    [Fact]
    public void General_protection_fault_at_CPL3_through_an_IDT_task_gate()
    {
        var o = RunLegacy(g =>
        {
            TaskBProgram(g, 0);
            g.Load(CodeB, a => { a.pop(__dword_ptr[L.Results]); a.mov(__dword_ptr[L.Results + 4], esp); a.@out(G.DonePort, al); });
            g.SetIdt(13, (ulong)TaskB << 16 | 0x85UL << 40);
            g.StartInUserMode = true;
            g.Load(L.UserCode, a => a.hlt()); // #GP(0) at CPL3
            return 0;
        }, "it switches tasks, but the new task's first instruction (kernel code, emulated) ends in a stray MMIO read");
        Assert.Equal(G.DonePort, o.Port);
        Assert.Equal(0u, BitConverter.ToUInt32(o.Results, 0));
        Assert.Equal(0x7F000u, BitConverter.ToUInt32(o.Results, 4)); // the error code was the only push on B's stack
    }
}
