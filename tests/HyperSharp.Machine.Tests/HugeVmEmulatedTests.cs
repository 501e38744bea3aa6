using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using HyperSharp.Hypervisor.Emulated.Backend;
using Iced.Intel;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Machine.Tests;

/// <summary>
/// Hyper-V's Generation 2 maximum — 240 vCPUs and 12 TB of RAM — created and started on the Emulated
/// backend without the host running out of memory: the boot processor wakes every application
/// processor with INIT/SIPI (real mode -> protected mode -> long mode, as Linux's trampoline does),
/// each touches its own page near the top of the 12 TB, and the host then finds every page written.
/// </summary>
public class HugeVmEmulatedTests(ITestOutputHelper output)
{
    private const ulong TiB = 1UL << 40;
    private const ulong Top = 12 * TiB;          // pages are touched just below 12 TiB
    private const int Cpus = 240;
    private const ulong Counter = 0x7000, Trampoline = 0x8000, Gdt = 0x8100, GdtPtr = 0x8180, Pm32 = 0x8200, Lm64 = 0x8300, ExtraPdpt = 0xF000;

    private static byte[] Asm(int bits, ulong at, Action<Assembler> body)
    {
        var a = new Assembler(bits);
        body(a);
        using var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), at);
        return ms.ToArray();
    }

    /// <summary>Every processor: write (0x5A00 + APIC ID) to the page Top - (id + 1) * 4 KiB.</summary>
    private static void TouchOwnPage(Assembler a)
    {
        a.mov(eax, 1); a.cpuid(); a.shr(ebx, 24);
        a.mov(rdi, Top); a.mov(rax, rbx); a.shl(rax, 12); a.sub(rdi, rax); a.sub(rdi, 0x1000);
        a.lea(rcx, __qword_ptr[rbx + 0x5A00]); a.mov(__qword_ptr[rdi], rcx);
    }

    [Fact]
    public async Task TwoHundredFortyVcpusAndTwelveTerabytesStartAndTouchTheirPages()
    {
        long before = Process.GetCurrentProcess().WorkingSet64;
        string dir = Directory.CreateTempSubdirectory("hs-huge").FullName;
        try
        {
            string kernel = Path.Combine(dir, "smp.elf");
            File.WriteAllBytes(kernel, TinyElf.Assemble(a =>
            {
                var wait = a.CreateLabel();
                TouchOwnPage(a);
                a.mov(eax, 0xFEE0_0300u);
                a.mov(__dword_ptr[rax], 0x000C_4500);   // INIT to all excluding self
                a.mov(__dword_ptr[rax], 0x000C_4608);   // START-UP at 0x8000
                a.Label(ref wait);
                a.pause();
                a.cmp(__dword_ptr[Counter], Cpus - 1);
                a.jb(wait);
                a.mov(dx, 0x3F8);
                foreach (char c in "SMP-OK\n") { a.mov(al, (byte)c); a.@out(dx, al); }
                a.mov(dx, 0x604); a.mov(ax, (5 << 10) | (1 << 13)); a.@out(dx, ax);
                a.hlt();
            }));
            var console = new StringBuilder();
            var sw = Stopwatch.StartNew();
            using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
            {
                KernelPath = kernel, MemorySize = 12 * TiB, Processors = Cpus,
                ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
            }).Build();
            output.WriteLine($"built a {Cpus}-vCPU, 12 TiB VM in {sw.ElapsedMilliseconds} ms");
            WriteTrampoline(vm);
            var run = Task.Run(vm.Run);
            bool done = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(120))) == run;
            if (!done) { vm.Stop(); await run; }
            output.WriteLine($"ran in {sw.ElapsedMilliseconds} ms: {console}");
            Assert.True(done, "the processors did not all check in within 120 s");
            var stopped = await run;
            Assert.True(stopped.Reason == VmStopReason.PowerOff, $"{stopped.Reason}: {stopped.Detail}");
            Assert.Equal("SMP-OK\n", console.ToString());
            for (int id = 0; id < Cpus; id++)
            {
                ulong page = Top - (ulong)(id + 1) * 0x1000;
                Assert.Equal((ulong)(0x5A00 + id), vm.Memory.Read<ulong>(page)); // guest-physical = offset in the block
            }
            long grown = Process.GetCurrentProcess().WorkingSet64 - before;
            output.WriteLine($"host working set grew by {grown >> 20} MiB");
            Assert.True(grown < 2L << 30, $"a 12 TB guest that touched a few pages grew the host by {grown >> 20} MiB");
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>The AP start-up path in low memory, and page tables for the top 512 GiB of the 12 TiB.</summary>
    private static void WriteTrampoline(VirtualMachine vm)
    {
        var mem = vm.Memory;
        mem.Write(Trampoline, Asm(16, Trampoline, a =>
        {
            a.cli();
            a.lgdt(__[GdtPtr]);
            a.mov(eax, cr0); a.or(eax, 1); a.mov(cr0, eax);
        }));
        var farJump32 = new byte[] { 0x66, 0xEA, 0, 0, 0, 0, 0x08, 0x00 };           // jmp dword 0x08:Pm32
        BinaryPrimitives.WriteUInt32LittleEndian(farJump32.AsSpan(2), (uint)Pm32);
        int trampolineLength = Asm(16, Trampoline, a => { a.cli(); a.lgdt(__[GdtPtr]); a.mov(eax, cr0); a.or(eax, 1); a.mov(cr0, eax); }).Length;
        mem.Write(Trampoline + (ulong)trampolineLength, farJump32);
        mem.Write<ulong>(Gdt + 0x08, 0x00CF9A000000FFFF);  // 32-bit code
        mem.Write<ulong>(Gdt + 0x10, 0x00CF92000000FFFF);  // data
        mem.Write<ulong>(Gdt + 0x18, 0x00AF9A000000FFFF);  // 64-bit code
        mem.Write<ushort>(GdtPtr, 0x1F);
        mem.Write<uint>(GdtPtr + 2, (uint)Gdt);
        var pm32 = Asm(32, Pm32, a =>
        {
            a.mov(ax, 0x10); a.mov(ds, ax); a.mov(es, ax); a.mov(ss, ax);
            a.mov(eax, cr4); a.or(eax, 0x20); a.mov(cr4, eax);
            a.mov(eax, 0x9000); a.mov(cr3, eax);                      // the boot processor's page tables
            a.mov(ecx, 0xC000_0080u); a.rdmsr(); a.or(eax, 0x100); a.wrmsr();
            a.mov(eax, cr0); a.or(eax, 0x8000_0000u); a.mov(cr0, eax);
        });
        mem.Write(Pm32, pm32);
        var farJump64 = new byte[] { 0xEA, 0, 0, 0, 0, 0x18, 0x00 };                 // jmp 0x18:Lm64
        BinaryPrimitives.WriteUInt32LittleEndian(farJump64.AsSpan(1), (uint)Lm64);
        mem.Write(Pm32 + (ulong)pm32.Length, farJump64);
        mem.Write(Lm64, Asm(64, Lm64, a =>
        {
            var halt = a.CreateLabel();
            TouchOwnPage(a);
            a.@lock.inc(__dword_ptr[Counter]);
            a.cli();
            a.Label(ref halt);
            a.hlt();
            a.jmp(halt);
        }));
        // PML4 entry 23 covers [11.5 TiB, 12 TiB): map it 1:1 with 1 GiB pages.
        mem.Write<ulong>(0x9000 + 23 * 8, ExtraPdpt | 3);
        for (ulong i = 0; i < 512; i++) mem.Write<ulong>(ExtraPdpt + i * 8, (23 * 512 * (1UL << 30) + i * (1UL << 30)) | 0x83);
    }
}
