using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;
using P = HyperSharp.Hypervisor.Emulated.Tests.Protected32Machine;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>
/// 16/32-bit call gates in protected mode (SDM Vol. 3, 5.8): CALL to a more privileged level with the stack switch
/// from the TSS and the parameter copy, the far RET back to the outer level, and the checks' error codes.
/// (64-bit gates: Differential/SystemPrograms.)
/// </summary>
public class CallGateTests
{
    private const ushort Gate = 0x30;
    private const ulong Entry = 0x11000;

    /// <summary>CPL3 code that pushes two parameters and calls through the gate selector; after the return it stores ESP,
    /// CS and SS in results 8-10 and halts (#GP at CPL3).</summary>
    private static void CallFromUser(P m, ushort selector, bool wide = true)
    {
        m.Load(P.Code, P.ToUser);
        m.Load(P.UserCode, a =>
        {
            a.mov(eax, P.UserDs); a.mov(ds, ax); a.mov(es, ax);
            if (wide) { a.push(0xBBBB); a.push(0xAAAA); } else { a.db(0x66, 0x68, 0xBB, 0xBB); a.db(0x66, 0x68, 0xAA, 0xAA); }
            a.call(selector, 0);
            a.mov(__dword_ptr[P.Results + 32], esp);
            a.mov(eax, cs); a.mov(__dword_ptr[P.Results + 36], eax);
            a.mov(eax, ss); a.mov(__dword_ptr[P.Results + 40], eax);
            a.hlt();
        });
    }

    [Fact]
    public void Call_through_a_32_bit_gate_switches_to_the_TSS_stack_copies_parameters_and_returns_to_CPL3()
    {
        using var m = new P();
        m.W64(P.Gdt + Gate, P.CallGate(P.KernelCs, Entry, dpl: 3, parameters: 2));
        m.Load(Entry, a =>
        {
            a.mov(__dword_ptr[P.Results], esp);
            for (int i = 0; i < 6; i++) { a.mov(eax, __dword_ptr[esp + i * 4]); a.mov(__dword_ptr[P.Results + 4 + (ulong)i * 4], eax); }
            a.mov(eax, ss); a.mov(__dword_ptr[P.Results + 28], eax);
            a.retf(8); // drops the two parameters from both stacks
        });
        CallFromUser(m, Gate | 3);
        m.Run();
        Assert.Equal(P.KernelStack - 24, m.Result(0));       // SS0:ESP0 from the TSS, six dword pushes
        Assert.Equal(P.UserCs, (ushort)m.Result(2));          // [esp+4]: the caller's CS
        Assert.Equal(0xAAAAu, m.Result(3));                   // parameters in the caller's order
        Assert.Equal(0xBBBBu, m.Result(4));
        Assert.Equal(P.UserStack - 8, m.Result(5));           // the caller's ESP (after its pushes) and SS
        Assert.Equal(P.UserDs, (ushort)m.Result(6));
        Assert.Equal(P.KernelDs, (ushort)m.Result(7));        // SS0
        Assert.Equal(P.UserStack, m.Result(8));               // back at CPL3: RETF 8 popped the parameters there too
        Assert.Equal(P.UserCs, (ushort)m.Result(9));
        Assert.Equal(P.UserDs, (ushort)m.Result(10));
        Assert.Equal((uint)Vec.GP, m.Vector);                 // the final HLT, at CPL3
    }

    [Fact]
    public void Call_through_a_16_bit_gate_pushes_words()
    {
        using var m = new P();
        const ulong entry16 = 0x6000; // a 16-bit gate's offset is 16 bits
        m.W64(P.Gdt + Gate, P.CallGate(P.KernelCs, entry16, dpl: 3, parameters: 2, gate32: false));
        m.Load(entry16, a =>
        {
            a.mov(__dword_ptr[P.Results], esp);
            for (int i = 0; i < 6; i++) { a.movzx(eax, __word_ptr[esp + i * 2]); a.mov(__dword_ptr[P.Results + 4 + (ulong)i * 4], eax); }
            a.hlt(); // (a 16-bit RETF would return to IP, 16 bits of the caller's EIP)
        });
        CallFromUser(m, Gate | 3, wide: false);
        m.Run();
        Assert.Equal(P.KernelStack - 12, m.Result(0));
        Assert.Equal(P.UserCs, (ushort)m.Result(2));
        Assert.Equal(0xAAAAu, m.Result(3));
        Assert.Equal(0xBBBBu, m.Result(4));
        Assert.Equal((P.UserStack - 4) & 0xFFFF, m.Result(5));
        Assert.Equal(P.UserDs, (ushort)m.Result(6));
        Assert.Equal(P.NoVector, m.Vector);
    }

    [Fact]
    public void Call_through_a_gate_to_a_conforming_segment_stays_at_CPL3()
    {
        using var m = new P();
        m.W64(P.Gdt + 0x38, 0x00CF9F000000FFFF); // conforming code, DPL 0
        m.W64(P.Gdt + Gate, P.CallGate(0x38, Entry, dpl: 3));
        m.Load(Entry, a => { a.mov(__dword_ptr[P.Results], esp); a.mov(eax, cs); a.mov(__dword_ptr[P.Results + 4], eax); a.retf(); });
        CallFromUser(m, Gate | 3);
        m.Run();
        Assert.Equal(P.UserStack - 16, m.Result(0));          // the caller's stack: two parameters, CS, EIP
        Assert.Equal(0x3Bu, m.Result(1));                     // CS RPL = CPL 3
        Assert.Equal(P.UserStack - 8, m.Result(8));
    }

    [Theory]
    [InlineData("gate DPL below CPL", 13, Gate)]
    [InlineData("gate not present", 11, Gate)]
    [InlineData("gate to a data segment", 13, P.KernelDs)]
    [InlineData("gate to a null selector", 13, 0)]
    [InlineData("TSS stack selector with the wrong RPL", 10, 0x18)]  // (for CPL 1: CPL 0's stack must stay good for the handler)
    [InlineData("TSS stack segment not present", 12, 0x40)]
    [InlineData("JMP through a gate to a more privileged segment", 13, P.KernelCs)]
    public void Gate_checks_fault_with_the_documented_error_codes(string what, int vector, int error)
    {
        using var m = new P();
        const ushort ring1Code = 0x48;
        m.W64(P.Gdt + ring1Code, 0x00CFBB000000FFFF);
        bool stack = what.StartsWith("TSS");
        ushort target = what.Contains("data") ? P.KernelDs : what.Contains("null") ? (ushort)0 : stack ? ring1Code : P.KernelCs;
        m.W64(P.Gdt + Gate, P.CallGate(target, Entry, dpl: what.Contains("DPL below") ? 0 : 3, present: !what.Contains("not present") || what.Contains("stack")));
        m.W32(P.Tss + 12, 0x7000);                                                         // ESP1
        if (what.Contains("wrong RPL")) m.W32(P.Tss + 16, 0x1B);                           // SS1
        if (what.Contains("stack segment not present")) { m.W64(P.Gdt + 0x40, 0x00CF33000000FFFF); m.W32(P.Tss + 16, 0x41); }
        m.Load(Entry, a => a.hlt());
        m.Load(P.Code, P.ToUser);
        m.Load(P.UserCode, a => { if (what.StartsWith("JMP")) a.jmp(Gate | 3, 0); else a.call(Gate | 3, 0); });
        m.Run();
        Assert.Equal((uint)vector, m.Vector);
        Assert.Equal((uint)error, m.ErrorCode);
        Assert.Equal(P.UserCode, m.FaultEip);
    }
}
