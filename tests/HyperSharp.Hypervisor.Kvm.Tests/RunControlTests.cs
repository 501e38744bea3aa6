using HyperSharp.Hypervisor.Testing;
using System.Diagnostics;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>Stopping a running vCPU from another thread, running two vCPUs at once, and partition reset.</summary>
public sealed class RunControlTests(ITestOutputHelper output)
{
    [Fact]
    public void RequestStop_FromAnotherThread_CancelsBusyLoopAndHaltedWait()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        guest.Load(TestGuest.CodeAddress, a =>
        {
            var spin = a.CreateLabel();
            a.Label(ref spin);
            a.inc(rax);
            a.cmp(rax, 200);
            a.jb(spin);            // a short busy loop first (kernel code is slow on paravirtual KVM) ...
            a.cli();
            var halt = a.CreateLabel();
            a.Label(ref halt);
            a.hlt();               // ... then HLT with interrupts off: waits in the kernel forever
            a.jmp(halt);
        });
        using var vp = guest.StartProcessor(0);

        var watch = Stopwatch.StartNew();
        using var stopper = new Timer(_ => vp.RequestStop(), null, 150, Timeout.Infinite);
        var e = vp.Run(NoIo.Instance);
        Assert.Equal(ExitKind.Cancelled, e.Kind);
        Assert.InRange(watch.ElapsedMilliseconds, 100, 5000);
        Assert.Equal(3 /* halted */, (int)vp.GetState().RunState);

        // A stop requested before Run is honoured at once; after it, Run works normally again.
        vp.RequestStop();
        Assert.Equal(ExitKind.Cancelled, vp.Run(NoIo.Instance).Kind);
        using var again = new Timer(_ => vp.RequestStop(), null, 50, Timeout.Infinite);
        Assert.Equal(ExitKind.Cancelled, vp.Run(NoIo.Instance).Kind);
    }

    [Fact]
    public void RequestStop_RacingWithRun_NeverLostNeverStuck()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        guest.Load(TestGuest.CodeAddress, a => { var self = a.CreateLabel(); a.Label(ref self); a.jmp(self); });
        using var vp = guest.StartProcessor(0);
        var random = new Random(7);
        for (int round = 0; round < 50; round++)
        {
            // A lost stop would hang Run: the watchdog then ends it and says so (a flag, not elapsed time, which a
            // loaded host stretches).
            bool rescued = false;
            using var watchdog = new Timer(_ => { Volatile.Write(ref rescued, true); vp.RequestStop(); }, null, 30_000, Timeout.Infinite);
            int delayUs = random.Next(0, 2000);
            var stopper = new Thread(() =>
            {
                var w = Stopwatch.StartNew();
                while (w.Elapsed.TotalMicroseconds < delayUs) Thread.SpinWait(50);
                vp.RequestStop();
            });
            stopper.Start();
            Assert.Equal(ExitKind.Cancelled, vp.Run(NoIo.Instance).Kind); // each request ends exactly one Run
            stopper.Join();
            watchdog.Dispose();
            Assert.False(Volatile.Read(ref rescued), $"round {round}: a stop request was lost (the watchdog ended Run)");
        }
    }

    [Fact]
    public void TwoProcessors_RunConcurrently_AndSeeEachOthersWrites()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv, new PartitionOptions { ProcessorCount = 2 });
        const ulong flags = 0x9000; // flag for vCPU n at flags + 8n
        // Each vCPU raises its own flag, then waits for the other's: neither can finish unless both run at once.
        for (int id = 0; id < 2; id++)
        {
            ulong mine = flags + (ulong)id * 8, other = flags + (ulong)(1 - id) * 8;
            guest.Load(TestGuest.CodeAddress + (ulong)id * 0x1000, a =>
            {
                a.mov(rbx, mine);
                a.mov(__qword_ptr[rbx], 1);
                a.mov(rbx, other);
                var wait = a.CreateLabel();
                a.Label(ref wait);
                a.pause();
                a.cmp(__qword_ptr[rbx], 0);
                a.je(wait);
                a.mov(dx, 0x500);
                a.mov(eax, (uint)(0x100 + id));
                a.@out(dx, eax);
                a.hlt();
            });
        }
        using var vp0 = guest.StartProcessor(0, TestGuest.CodeAddress);
        using var vp1 = guest.StartProcessor(1, TestGuest.CodeAddress + 0x1000);

        var results = new ulong[2];
        var threads = new[] { vp0, vp1 }.Select((vp, i) => new Thread(() =>
        {
            var io = new IoStepper(vp);
            results[i] = vp.Run(io).Kind == ExitKind.Cancelled && io.All.Count == 1 ? io.All[0].Value : ulong.MaxValue;
        })).ToArray();
        using var watchdog = new Timer(_ => { vp0.RequestStop(); vp1.RequestStop(); }, null, 10_000, Timeout.Infinite);
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.Equal([0x100UL, 0x101UL], results);
    }

    [Fact]
    public void Reset_ReturnsProcessorsToPowerOnState()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        guest.Load(TestGuest.CodeAddress, a => { a.mov(rax, 42); a.mov(dx, 0x500); a.@out(dx, al); a.hlt(); });
        using var vp = guest.StartProcessor(0);
        Assert.Equal(42UL, new IoStepper(vp).Next().Value);

        guest.Partition.Reset();
        var s = vp.GetState();
        Assert.Equal(0xFFF0UL, s.Rip);
        Assert.Equal(0xFFFF_0000UL, s.Cs.Base);
        Assert.Equal(0xF000, s.Cs.Selector);
        Assert.Equal(0UL, s.Efer);
        Assert.Equal(0UL, s.Cr0 & 0x8000_0001); // paging and protection off
        Assert.Equal(0UL, s.GeneralRegisters[0]);
    }
}
