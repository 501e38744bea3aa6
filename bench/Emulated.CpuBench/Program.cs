using System.Diagnostics;
using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Memory;
using HyperSharp.Hypervisor.Emulated.State;
using Emulated.CpuBench;

// Guest instructions per second of the Emulated backend's CPU on a CPU-bound 64-bit guest loop.
// Usage: Emulated.CpuBench [rounds]   (default 20000 rounds ~ 0.5 G guest instructions)
int rounds = args.Length > 0 ? int.Parse(args[0]) : 20000;
const ulong Pml4 = 0x1000, Pdpt = 0x2000, Pd = 0x3000, Code = 0x100000, Data = 0x200000;

using var mem = PhysicalMemory.Allocate(16 << 20);
void W64(ulong pa, ulong v) => mem.Write(pa, BitConverter.GetBytes(v));
W64(Pml4, Pdpt | 3); W64(Pdpt, Pd | 3);
for (ulong i = 0; i < 8; i++) W64(Pd + i * 8, (i << 21) | 0x83);
mem.Write(Code, GuestWorkload.Assemble(Code, Data, rounds));

var cpu = new X86Cpu(mem);
var s = cpu.GetState();
s.Cr0 = 0x80010033; s.Cr3 = Pml4; s.Cr4 = 0x20; s.Efer = 0x500;
s.Segments[(int)Seg.Cs] = new SegmentRegister(8, 0, 0xFFFFFFFF, 0xA09B);
for (int i = 0; i < 6; i++) if (i != (int)Seg.Cs) s.Segments[i] = new SegmentRegister(0x10, 0, 0xFFFFFFFF, 0xC093);
s.Rip = Code; s.Gpr[(int)Gpr.Rsp] = 0x80000;
cpu.SetState(s);

// Warm-up run (JIT tiering), then five measured runs from the same start state: the machine is shared,
// so report every run, the best and the median.
var start = cpu.GetState();
cpu.Run(20_000_000);
var rates = new List<double>();
ulong instructions = 0;
ulong expected = ReferenceWorkload.Run(rounds);
for (int run = 0; run < 5; run++)
{
    cpu.SetState(start);
    ulong before = cpu.InstructionCount;
    var sw = Stopwatch.StartNew();
    var exit = cpu.Run();
    sw.Stop();
    ulong n = cpu.InstructionCount - before;
    instructions = n;
    double rate = n / sw.Elapsed.TotalSeconds / 1e6;
    rates.Add(rate);
    string check = cpu[Gpr.Rax] == expected ? "matches" : $"MISMATCH, expected 0x{expected:X16}";
    Console.WriteLine($"run {run + 1}: exit={exit} hash=0x{cpu[Gpr.Rax]:X16} ({check} the C# reference), "
        + $"{n:N0} instructions in {sw.Elapsed.TotalSeconds:F3} s = {rate:F1} M instructions/s");
}
rates.Sort();
Console.WriteLine($"best {rates[^1]:F1} M instructions/s, median {rates[2]:F1} M instructions/s");


// The same program natively (plus its 11-instruction call frame), for the emulator/native ratio.
if (NativeRun.Measure(rounds) is var (secs, nativeHash))
{
    double nativeRate = instructions / secs / 1e6;
    Console.WriteLine($"native (host CPU, same program): {secs:F3} s = {nativeRate:F0} M instructions/s, hash "
        + $"{(nativeHash == expected ? "matches" : "MISMATCH")}; emulator median = 1/{nativeRate / rates[2]:F1} of native");
}
else Console.WriteLine("native comparison: needs an x86-64 Linux host");
