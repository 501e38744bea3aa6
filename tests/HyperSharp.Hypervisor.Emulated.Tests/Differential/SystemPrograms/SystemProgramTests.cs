using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Hypervisor.Kvm;
using Iced.Intel;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;
using G = HyperSharp.Hypervisor.Emulated.Tests.Differential.SystemPrograms.SystemGuest;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.SystemPrograms;

/// <summary>
/// System-level guest programs (page faults and CR2, exception error codes, IST, SYSCALL/SYSRET, far return to
/// CPL3, the MOV SS interrupt shadow, 64-bit call gates) with outcomes from the manuals, run on the software processor and, where
/// KVM is usable, on KVM too: both must leave the same exception record and results.
/// </summary>
public sealed partial class SystemProgramTests(ITestOutputHelper output)
{
    private const int Vector = 0x00, Error = 0x08, Rip = 0x10, Cs = 0x18, Rflags = 0x20, Rsp = 0x28, Ss = 0x30, Cr2 = 0x38, HandlerRsp = 0x40;

    private sealed record Outcome(int Port, byte[] Record, byte[] Results, ulong Mark)
    {
        public ulong R(int offset) => BitConverter.ToUInt64(Record, offset);
        public ulong Result(int index) => BitConverter.ToUInt64(Results, index * 8);
    }

    /// <summary>Builds the program on each backend, runs it, checks the backends agree and returns the emulator's outcome.
    /// <paramref name="kvmHereDeviates"/> names a known way this host's KVM departs from the manual for the program (it
    /// emulates guest kernel code in software): then both outcomes are printed and only the manual is asserted.</summary>
    private Outcome RunOnBoth(Func<G, ulong> build, string? kvmHereDeviates = null)
        => RunOnBoth(hv => new G(hv), build, kvmHereDeviates);

    private Outcome RunOnBoth<TGuest>(Func<IHypervisor, TGuest> create, Func<TGuest, ulong> build, string? kvmHereDeviates)
        where TGuest : ISystemGuest
    {
        Outcome Run(IHypervisor hv)
        {
            using var guest = create(hv);
            ulong mark = build(guest);
            var (port, record, results) = guest.Run();
            return new Outcome(port, record, results, mark);
        }
        var emu = Run(new EmulatedHypervisor());
        using var kvm = new KvmHypervisor();
        if (!kvm.Availability.IsAvailable)
        {
            output.WriteLine($"KVM unusable here ({kvm.Availability.Reason}): checked against the manual only");
            return emu;
        }
        if (kvmHereDeviates != null)
        {
            string hwText;
            try { var k = Run(kvm); hwText = $"port {k.Port:X} record {Convert.ToHexString(k.Record, 0, 0x48)}"; }
            catch (InvalidOperationException e) { hwText = e.Message; }
            output.WriteLine($"not compared with KVM ({kvmHereDeviates}); KVM: {hwText}; emulator: port {emu.Port:X} record {Convert.ToHexString(emu.Record, 0, 0x48)}");
            return emu;
        }
        var hw = Run(kvm);
        Assert.Equal(hw.Port, emu.Port);
        Assert.Equal(Convert.ToHexString(hw.Record), Convert.ToHexString(emu.Record));
        Assert.Equal(Convert.ToHexString(hw.Results), Convert.ToHexString(emu.Results));
        output.WriteLine("KVM and the emulator agree");
        return emu;
    }

    /// <summary>Kernel code that drops to CPL3 at <see cref="G.UserCode"/> through IRETQ.</summary>
    private static void ToUser(Assembler a)
    {
        a.push(G.UserDs); a.push(0x60000); a.push(2); a.push(G.UserCs); a.push((int)G.UserCode);
        a.iretq();
    }

    [Theory]
    [InlineData("kernel write to read-only page (WP)", 0x201008UL, 0x3UL)]
    [InlineData("kernel read of not-present page", 0x202010UL, 0x0UL)]
    [InlineData("kernel fetch from NX page", 0x203000UL, 0x11UL)]
    [InlineData("user read of supervisor page", 0x204010UL, 0x5UL)]
    [InlineData("user write to read-only page", 0x201020UL, 0x7UL)]
    public void Page_faults_report_error_code_CR2_and_the_faulting_RIP(string what, ulong address, ulong error)
    {
        bool user = what.StartsWith("user");
        var o = RunOnBoth(g =>
        {
            g.SetPte(0x201000, 0x201000 | 0x5);                 // present, user, read-only
            g.SetPte(0x202000, 0);                              // not present
            g.SetPte(0x203000, 0x203000 | 0x7 | 1UL << 63);     // no-execute
            g.SetPte(0x204000, 0x204000 | 0x3);                 // supervisor only
            Func<Assembler, Label> access = a =>
            {
                var at = a.CreateLabel();
                a.mov(rbx, address);
                a.Label(ref at);
                if (what.Contains("fetch")) a.call(rbx);
                else if (what.Contains("write")) a.mov(__dword_ptr[rbx], eax);
                else a.mov(rax, __qword_ptr[rbx]);
                return at;
            };
            if (!user) return g.LoadMarked(G.Code, access);
            g.Load(G.Code, ToUser);
            return g.LoadMarked(G.UserCode, access);
        });
        output.WriteLine(what);
        Assert.Equal(G.FaultPort, o.Port);
        Assert.Equal(14UL, o.R(Vector));
        Assert.Equal(error, o.R(Error));
        Assert.Equal(address, o.R(Cr2));
        Assert.Equal(what.Contains("fetch") ? address : o.Mark, o.R(Rip));
        Assert.Equal(user ? G.UserCs : G.KernelCs, (ushort)o.R(Cs));
    }

    [Theory]
    [InlineData("load of a not-present data segment", 11, 0x38UL)]
    [InlineData("selector beyond the GDT limit", 13, 0x1230UL)]
    [InlineData("INT beyond the IDT limit", 13, 0x40 * 8 + 2UL)]
    [InlineData("INT3 through a DPL 0 gate from CPL3", 13, 3 * 8 + 2UL)]
    public void Exceptions_carry_the_documented_error_codes(string what, int vector, ulong error)
    {
        var o = RunOnBoth(g =>
        {
            Func<Assembler, Label> fault = a =>
            {
                var at = a.CreateLabel();
                if (what.StartsWith("load")) { a.mov(eax, G.NotPresentDs); a.Label(ref at); a.mov(ds, ax); }
                else if (what.StartsWith("selector")) { a.mov(eax, 0x1233); a.Label(ref at); a.mov(ds, ax); }
                else if (what.StartsWith("INT ")) { a.Label(ref at); a.@int(0x40); }
                else { a.Label(ref at); a.int3(); }
                return at;
            };
            if (!what.Contains("CPL3")) return g.LoadMarked(G.Code, fault);
            g.Load(G.Code, ToUser);
            return g.LoadMarked(G.UserCode, fault);
        }, what.StartsWith("INT ") ? "its instruction emulator fails on INT n in kernel code"
            : what.StartsWith("INT3") ? "it delivers #BP through the DPL 0 gate" : null);
        output.WriteLine(what);
        Assert.Equal((ulong)vector, o.R(Vector));
        Assert.Equal(error, o.R(Error));
        Assert.Equal(o.Mark, o.R(Rip)); // faults: RIP of the instruction (INT n and INT3 raising #GP included)
    }

    [Fact]
    public void IST_gate_switches_to_the_IST_stack_even_at_the_same_privilege()
    {
        var o = RunOnBoth(g =>
        {
            g.SetGate(6, G.StubOf(6), ist: 1);
            return g.LoadMarked(G.Code, a => { var at = a.CreateLabel(); a.mov(rsp, 0x6FFF8); a.Label(ref at); a.ud2(); return at; });
        });
        Assert.Equal(6UL, o.R(Vector));
        Assert.Equal(0x6FFF8UL, o.R(Rsp));                          // the interrupted stack, in the frame
        Assert.Equal(G.IstStack - 7 * 8, o.R(HandlerRsp));          // frame (5) + error slot + vector pushed on IST1
    }

    [Fact]
    public void Syscall_and_sysret_move_between_CPL0_and_CPL3_with_RCX_R11_and_SFMASK()
    {
        var o = RunOnBoth(g =>
        {
            ulong userNext = g.LoadMarked(G.UserCode, a =>
            {
                var next = a.CreateLabel();
                a.mov(ebx, 0x1234);
                a.syscall();
                a.Label(ref next);
                a.hlt();
                return next;
            });
            var entry = 0x100800UL;
            g.Load(entry, a =>
            {
                a.mov(__qword_ptr[G.Results + 0], rcx);
                a.mov(__qword_ptr[G.Results + 8], r11);
                a.pushfq(); a.pop(rax); a.mov(__qword_ptr[G.Results + 16], rax);
                a.mov(eax, cs); a.mov(__qword_ptr[G.Results + 24], rax);
                a.mov(eax, ss); a.mov(__qword_ptr[G.Results + 32], rax);
                a.mov(__qword_ptr[G.Results + 40], rbx);
                a.@out(G.DonePort, al);
            });
            g.Load(G.Code, a =>
            {
                a.mov(ecx, 0xC0000080); a.rdmsr(); a.or(eax, 1); a.wrmsr();                               // EFER.SCE
                a.mov(ecx, 0xC0000081); a.xor(eax, eax); a.mov(edx, (0x10 << 16) | G.KernelCs); a.wrmsr(); // STAR
                a.mov(ecx, 0xC0000082); a.mov(eax, (uint)entry); a.xor(edx, edx); a.wrmsr();                // LSTAR
                a.mov(ecx, 0xC0000084); a.mov(eax, 0x500); a.xor(edx, edx); a.wrmsr();                      // SFMASK: DF TF
                a.mov(rcx, G.UserCode); a.mov(r11, 0x6C6);                                                  // IF DF ZF SF PF...
                a.mov(rsp, 0x60000);
                a.sysretq();
            });
            return userNext;
        }, "its SYSCALL enters the kernel code with other selectors (CS 0x33, SS 0x2B)");
        Assert.Equal(G.DonePort, o.Port);
        Assert.Equal(o.Mark, o.Result(0));                   // RCX = the instruction after SYSCALL
        Assert.Equal(0x6C6UL, o.Result(1) & 0xFFF);          // R11 = the user's RFLAGS (SYSRET loaded them from R11)
        Assert.Equal(0x6C6UL & ~0x500UL, o.Result(2) & 0xFFF); // SFMASK cleared DF
        // (IF stays set in this program: this host's KVM runs user code with IF = 1 whatever SYSRET loads.)
        Assert.Equal((ulong)G.KernelCs, o.Result(3));
        Assert.Equal((ulong)G.KernelDs, o.Result(4));        // SS = STAR[47:32] + 8
        Assert.Equal(0x1234UL, o.Result(5));
    }

    [Fact]
    public void Far_return_to_CPL3_loads_CS_SS_and_RSP_from_the_stack()
    {
        var o = RunOnBoth(g =>
        {
            ulong at = g.LoadMarked(G.UserCode, a => { var l = a.CreateLabel(); a.nop(); a.Label(ref l); a.hlt(); return l; }); // HLT at CPL3: #GP(0)
            g.Load(G.Code, a =>
            {
                a.push(G.UserDs); a.push(0x5FFF0); a.push(G.UserCs); a.push((int)G.UserCode);
                a.db(0x48, 0xCB); // RETFQ
            });
            return at;
        }, "its instruction emulator fails on RETFQ in kernel code");
        Assert.Equal(13UL, o.R(Vector));
        Assert.Equal(0UL, o.R(Error));
        Assert.Equal(o.Mark, o.R(Rip));
        Assert.Equal((ulong)G.UserCs, o.R(Cs));
        Assert.Equal((ulong)G.UserDs, o.R(Ss));
        Assert.Equal(0x5FFF0UL, o.R(Rsp));
        Assert.Equal(G.KernelStack - 7 * 8, o.R(HandlerRsp)); // CPL change: the handler ran on RSP0
    }

    [Fact]
    public void Single_step_trap_after_MOV_SS_waits_for_the_next_instruction()
    {
        var o = RunOnBoth(g => g.LoadMarked(G.Code, a =>
        {
            var after = a.CreateLabel();
            a.mov(eax, G.KernelDs);
            a.pushfq(); a.or(__qword_ptr[rsp], 0x100); a.popfq(); // TF on: the trap comes after the next instruction
            a.mov(ss, ax);                                         // ...but MOV SS holds it back one more instruction
            a.inc(rbx);
            a.Label(ref after);
            a.nop();
            return after;
        }), "it traps right after MOV SS");
        Assert.Equal(1UL, o.R(Vector));
        Assert.Equal(o.Mark, o.R(Rip));
    }

    private const ushort Gate = 0x40;
    private const string KvmGateDeviation = "it raises #UD at a far CALL/JMP through a call gate, at CPL3 too";

    /// <summary>User code at <see cref="G.UserCode"/>: a far CALL (or JMP) through the m16:32 pointer at Results+0x70
    /// naming <paramref name="selector"/> (AMD processors have no m16:64 form); the marked RIP is the transfer.</summary>
    private static ulong FarThroughGate(G g, ushort selector, bool call)
    {
        g.Load(G.Code, ToUser);
        return g.LoadMarked(G.UserCode, a =>
        {
            var at = a.CreateLabel();
            a.mov(__dword_ptr[G.Results + 0x70], 0);
            a.mov(__word_ptr[G.Results + 0x74], selector);
            a.Label(ref at);
            if (call) a.call(__fword_ptr[G.Results + 0x70]); else a.jmp(__fword_ptr[G.Results + 0x70]);
            a.hlt();
            return at;
        });
    }

    [Fact]
    public void Call_gate_from_CPL3_enters_CPL0_on_RSP0_with_a_null_SS_and_the_callers_frame()
    {
        const ulong entry = 0x100800;
        var o = RunOnBoth(g =>
        {
            g.SetCallGate(Gate, G.KernelCs, entry, dpl: 3);
            g.Load(entry, a =>
            {
                a.mov(__qword_ptr[G.Results + 0], rsp);
                for (int i = 0; i < 4; i++) { a.mov(rax, __qword_ptr[rsp + i * 8]); a.mov(__qword_ptr[G.Results + 8 + (ulong)i * 8], rax); }
                a.mov(eax, cs); a.mov(__qword_ptr[G.Results + 40], rax);
                a.mov(eax, ss); a.mov(__qword_ptr[G.Results + 48], rax);
                a.@out(G.DonePort, al);
            });
            return FarThroughGate(g, Gate | 3, call: true);
        }, KvmGateDeviation);
        Assert.Equal(G.DonePort, o.Port);
        Assert.Equal(G.KernelStack - 32, o.Result(0));        // RSP0 from the TSS, four 8-byte pushes
        Assert.Equal(o.Mark + 7, o.Result(1));                // return RIP: past the 7-byte CALL m16:32
        Assert.Equal((ulong)G.UserCs, o.Result(2));
        Assert.Equal(0x60000UL, o.Result(3));                 // the caller's RSP and SS
        Assert.Equal((ulong)G.UserDs, o.Result(4));
        Assert.Equal((ulong)G.KernelCs, o.Result(5));
        Assert.Equal(0UL, o.Result(6));                       // SS: null, RPL = new CPL 0
    }

    [Fact]
    public void Far_return_from_a_call_gate_goes_back_to_CPL3_and_its_stack()
    {
        const ulong entry = 0x100800;
        var o = RunOnBoth(g =>
        {
            g.SetCallGate(Gate, G.KernelCs, entry, dpl: 3);
            g.Load(entry, a => { a.mov(rbx, 0x5A5A); a.db(0x48, 0xCB); }); // RETFQ
            return FarThroughGate(g, Gate | 3, call: true) + 7;             // back after the CALL: HLT at CPL3 is #GP(0)
        }, KvmGateDeviation);
        Assert.Equal(13UL, o.R(Vector));
        Assert.Equal(o.Mark, o.R(Rip));
        Assert.Equal((ulong)G.UserCs, o.R(Cs));
        Assert.Equal((ulong)G.UserDs, o.R(Ss));
        Assert.Equal(0x60000UL, o.R(Rsp));
    }

    [Theory]
    [InlineData("CALL through a DPL 0 gate from CPL3", 13, Gate)]
    [InlineData("CALL through a not-present gate", 11, Gate)]
    [InlineData("CALL through a gate to a data segment", 13, (ulong)G.KernelDs)]
    [InlineData("JMP through a gate to a more privileged segment", 13, (ulong)G.KernelCs)]
    [InlineData("CALL through a 16-bit gate in long mode", 13, Gate)]
    [InlineData("CALL through a gate whose upper half has a type", 13, Gate)]
    public void Call_gate_checks_fault_with_the_documented_error_codes(string what, int vector, ulong error)
    {
        var o = RunOnBoth(g =>
        {
            bool dpl0 = what.Contains("DPL 0"), absent = what.Contains("not-present"), data = what.Contains("data");
            g.SetCallGate(Gate, data ? G.KernelDs : G.KernelCs, 0x100800, dpl: dpl0 ? 0 : 3, present: !absent,
                type: what.Contains("16-bit") ? 0x4 : 0xC);
            if (what.Contains("upper half")) g.SetDescriptor(Gate + 8, 0x0C00UL << 32);
            return FarThroughGate(g, Gate | 3, call: !what.StartsWith("JMP"));
        }, KvmGateDeviation);
        output.WriteLine(what);
        Assert.Equal((ulong)vector, o.R(Vector));
        Assert.Equal(error, o.R(Error));
        Assert.Equal(o.Mark, o.R(Rip));
        Assert.Equal((ulong)G.UserCs, o.R(Cs));
    }
}
