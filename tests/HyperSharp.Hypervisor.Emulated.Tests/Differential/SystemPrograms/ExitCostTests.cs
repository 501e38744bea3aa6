using HyperSharp.Hypervisor.Testing;
using G = HyperSharp.Hypervisor.Emulated.Tests.Differential.SystemPrograms.SystemGuest;
using static Iced.Intel.AssemblerRegisters;
using System.Diagnostics;
using HyperSharp.Hypervisor.Kvm;
using Iced.Intel;
using Xunit.Abstractions;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.SystemPrograms;

/// <summary>
/// Which way back to the VMM is cheapest on this host's KVM, for the differential harness (one exit per batch):
/// OUT from CPL3 with IOPL 3 (no kernel code), OUT from CPL0, HLT at CPL0, and an exception at CPL3 whose CPL0
/// handler does the OUT. Prints microseconds per exit; asserts only that each path exits as expected.
/// </summary>
public sealed class ExitCostTests(ITestOutputHelper output)
{
    private const int Exits = 200;

    [Fact]
    public void Exit_paths_on_KVM_are_measured()
    {
        using var kvm = new KvmHypervisor();
        if (!kvm.Availability.IsAvailable) { output.WriteLine($"KVM unusable here ({kvm.Availability.Reason}): nothing to measure"); return; }
        Measure(kvm, "OUT from CPL3 (IOPL 3)", viaPort: true, g =>
        {
            g.Load(G.Code, a => { a.push(G.UserDs); a.push(0x60000); a.push(0x3002); a.push(G.UserCs); a.push((int)G.UserCode); a.iretq(); });
            g.Load(G.UserCode, Loop(a => a.@out(G.DonePort, al)));
        });
        Measure(kvm, "OUT from CPL0", viaPort: true, g => g.Load(G.Code, Loop(a => a.@out(G.DonePort, al))));
        Measure(kvm, "HLT at CPL0", viaPort: false, g => g.Load(G.Code, Loop(a => a.hlt())));
        MeasureDispatch(kvm);
        Measure(kvm, "#UD at CPL3, CPL0 handler does OUT", viaPort: true, g =>
        {
            // The handler returns to the UD2 after its OUT: skip the recording stub, resume straight away.
            const ulong handler = 0x100800;
            g.Load(handler, a => { a.@out(G.FaultPort, al); a.iretq(); });
            g.SetGate(6, handler, ist: 0);
            g.Load(G.Code, a => { a.push(G.UserDs); a.push(0x60000); a.push(0x2); a.push(G.UserCs); a.push((int)G.UserCode); a.iretq(); });
            g.Load(G.UserCode, a => a.ud2());
        });
    }

    private static Action<Assembler> Loop(Action<Assembler> exit) => a =>
    {
        var top = a.CreateLabel();
        a.Label(ref top);
        exit(a);
        a.jmp(top);
    };

    /// <summary>
    /// The VMM's path for a device access: OUT from CPL0 handed to the dispatcher inside Run, which goes straight
    /// back into the guest (no Run return per access); the dispatcher ends Run after <see cref="Exits"/> of them.
    /// </summary>
    private void MeasureDispatch(IHypervisor hv)
    {
        using var guest = new G(hv);
        guest.Load(G.Code, Loop(a => a.@out(G.DonePort, al)));
        using var vp = guest.Start();
        var counter = new CountingDispatcher(vp, Exits);
        Assert.Equal(ExitKind.Cancelled, vp.Run(counter).Kind); // warm-up: the first entries build the guest's mappings
        var best = TimeSpan.MaxValue; // best of five: one long Run is easily preempted on a loaded host
        for (int round = 0; round < 5; round++)
        {
            counter.Writes = 0;
            var sw = Stopwatch.StartNew();
            Assert.Equal(ExitKind.Cancelled, vp.Run(counter).Kind);
            if (sw.Elapsed < best) best = sw.Elapsed;
            Assert.Equal(Exits, counter.Writes);
        }
        output.WriteLine($"OUT from CPL0, dispatched inside Run: {best.TotalMicroseconds / Exits:F1} us per access (best of 5)");
    }

    private sealed class CountingDispatcher(IVirtualProcessor vp, int limit) : IIoDispatcher
    {
        public int Writes;
        public void PortWrite(ushort port, ReadOnlySpan<byte> data) { if (++Writes == limit) vp.RequestStop(); }
        public void PortRead(ushort port, Span<byte> data) => throw new InvalidOperationException("the guest only writes");
        public void MmioRead(ulong address, Span<byte> data) => throw new InvalidOperationException("the guest only writes");
        public void MmioWrite(ulong address, ReadOnlySpan<byte> data) => throw new InvalidOperationException("the guest only writes");
    }

    /// <summary>Times a way back: a port write the dispatcher stops the processor at (as the harness's batches end), or HLT's exit.</summary>
    private void Measure(IHypervisor hv, string path, bool viaPort, Action<G> build)
    {
        using var guest = new G(hv);
        build(guest);
        using var vp = guest.Start();
        var io = new IoStepper(vp);
        void Back()
        {
            if (viaPort) Assert.True(io.Next().IsPort);
            else Assert.Equal(ExitKind.Halt, io.RunToExit().Kind);
        }
        Back(); // warm-up (and the way into user mode)
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Exits; i++) Back();
        output.WriteLine($"{path}: {sw.Elapsed.TotalMicroseconds / Exits:F1} us per exit");
    }
}
