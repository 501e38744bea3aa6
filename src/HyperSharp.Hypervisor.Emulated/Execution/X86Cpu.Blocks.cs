using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.Translation;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    /// <summary>Longest block we decode: bounds decode work wasted when a block is invalidated early.</summary>
    private const int MaxBlockInstructions = 64;
    private const int LookupSize = 4096;

    private struct LookupEntry
    {
        public ulong Lin;
        public int Context;
        public int Gen;
        public CodeBlock? Block;
    }

    /// <summary>Generation of the lookup cache: entries of older generations are stale (TLB flushed since).</summary>
    private int _lookupGen = 1;

    // Per-vCPU front cache: linear RIP + (mode, CPL) -> block. Virtual addresses are only meaningful
    // under one set of page tables, so every TLB flush clears it; invalid blocks are skipped via Valid.
    private readonly LookupEntry[] _lookup = new LookupEntry[LookupSize];
    private readonly ByteWindowReader _reader = new();
    private readonly DecodedInstruction[] _scratch = new DecodedInstruction[MaxBlockInstructions + 1];

    /// <summary>Called (when set) for each instruction the translator does not implement, with its linear address and text.</summary>
    public Action<ulong, string>? UnsupportedInstruction { get; set; }


    /// <summary>
    /// Runs of a block after which it is compiled to IL, quick tier (see Translation/); 0 keeps this processor
    /// in the interpreter, 1 compiles before the first run. Starts at <see cref="TierOptions.Threshold"/>.
    /// </summary>
    public int TranslationThreshold { get; set; } = TierOptions.Threshold;

    /// <summary>
    /// Runs of quick-compiled code after which the block is compiled again, optimized; 0 = never, 1 = compile
    /// optimized right away. Starts at <see cref="TierOptions.OptimizeThreshold"/>.
    /// </summary>
    public int OptimizeThreshold { get; set; } = TierOptions.OptimizeThreshold;

    /// <summary>
    /// Executes blocks back to back until something needs the run loop's attention (a stop or interrupt
    /// request, an exit, HLT, an interrupt shadow, the instruction budget). Going from one block to the
    /// next costs one direct-mapped cache probe; faults propagate to Run, which delivers them. A block runs
    /// compiled once it is hot, else through the interpreter's loop of indirect calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunBlocks(ulong limit)
    {
        ref ulong rip = ref R(DecodedInstruction.RipIndex);
        ulong n = 0;
        TranslatedBlock? compiled = null; // the compiled block running now, for the retired count at a fault
        ulong entryRip = 0;
        try
        {
            while (true)
            {
                CodeBlock? b = GetBlock();
                if (b == null) { _exitRequest = (int)CpuExitReason.Shutdown + 1; return; }
                var t = b.Translated ?? Heat(b);
                if (t != null)
                {
                    if (!t.Optimized && ++t.Runs == OptimizeThreshold && OptimizeThreshold != 0) Optimize(b);
                    compiled = t;
                    entryRip = rip;
                    n += (uint)t.Run(this, b);
                    compiled = null; // (also keeps t, and with it the records its code points at, alive until here)
                }
                else
                {
                    ref DecodedInstruction d = ref MemoryMarshal.GetArrayDataReference(b.Instructions);
                    while (true)
                    {
                        n++;
                        if (d.Exec(this, ref d) != 0) break;
                        rip += d.Len;
                        d = ref Unsafe.Add(ref d, 1);
                    }
                }
                Volatile.Write(ref _boundaryEpoch, _boundaryEpoch + 1);
                if ((_attention | _exitRequest) != 0 || _shadow || _halted || (Flags.Rflags & Rf.TF) != 0 || _breakpoints.Active || InstructionCount + n >= limit) return;
            }
        }
        catch (GuestFault)
        {
            // The faulting instruction did not retire: the interpreter counted it, compiled code counts by RIP.
            if (compiled != null) n += (ulong)compiled.RetiredBefore(rip - entryRip);
            else n--;
            throw;
        }
        finally
        {
            InstructionCount += n;
        }
    }

    /// <summary>Counts a run of an interpreted block. At the threshold it is queued for the background compiler,
    /// or, with a threshold of 1 (tests), compiled here and run compiled at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TranslatedBlock? Heat(CodeBlock b)
    {
        int threshold = TranslationThreshold;
        if (threshold == 0 || ++b.Heat != threshold) return null;
        return Translate(b, threshold == 1, OptimizeThreshold == 1);
    }

    /// <summary>Quick-compiled code got hot: compile it optimized (here with a threshold of 1, else in the background).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Optimize(CodeBlock b) => Translate(b, OptimizeThreshold == 1, optimized: true);

    private static TranslatedBlock? Translate(CodeBlock b, bool here, bool optimized)
    {
        // Only cached blocks: a straddling instruction is rebuilt each time it runs. Two vCPUs may compile the
        // same block at once; either result is the same code.
        if (!b.Cacheable || b.Instructions.Length < 2) return null;
        if (here) return BlockCompiler.CompileInto(b, optimized);
        if (!BackgroundCompiler.Enqueue(b, optimized))
        {
            // Queue full: count up again and retry later.
            if (b.Translated is { } t) t.Runs = 0; else b.Heat = 0;
        }
        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private CodeBlock? GetBlock()
    {
        ulong lin = (Mode.SegBase((int)Seg.Cs) + Rip) & Mode.LinMask;
        int ctx = Mode.Bitness | (Mode.Cpl << 8);
        ref var e = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_lookup), (nint)((lin ^ (lin >> 12)) & (LookupSize - 1)));
        var b = e.Block;
        if (e.Lin == lin && e.Context == ctx && e.Gen == _lookupGen && b != null && b.Valid) return b;
        return GetBlockSlow(lin, ctx, ref e);
    }

    private CodeBlock? GetBlockSlow(ulong lin, int ctx, ref LookupEntry e)
    {
        ulong phys = this.TranslateFetch(lin);
        if (!_mem.IsRamPage(phys >> 12)) return null; // executing MMIO is not supported: shut down
        var b = _code.Find(phys, Mode.Bitness) ?? Build(phys, lin);
        if (b.Cacheable) { e.Lin = lin; e.Context = ctx; e.Gen = _lookupGen; e.Block = b; }
        return b;
    }

    /// <summary>Decodes a block at guest-physical <paramref name="phys"/> (linear <paramref name="lin"/>).</summary>
    private CodeBlock Build(ulong phys, ulong lin)
    {
        ulong ppn = phys >> 12;
        _code.MarkCodePage(ppn);
        int avail = (int)(4096 - (phys & 0xFFF));
        _reader.Reset(_mem.Ram + phys, avail); // Safe: phys is a RAM page (checked by the caller); avail stays in it.
        var decoder = Decoder.Create(Mode.Bitness, _reader, lin, DecoderOptions.None);
        int n = 0, consumed = 0;
        while (n < MaxBlockInstructions)
        {
            decoder.Decode(out Instruction ins);
            if (decoder.LastError == DecoderError.NoMoreBytes)
            {
                if (n == 0) return BuildStraddling(phys, lin);
                break; // the next instruction crosses the page: it starts the next block
            }
            consumed += ins.Length;
            var flow = Translator.Translate(in ins, Mode.Bitness, Model.Vendor, ref _scratch[n]);
            if (flow == Flow.Unsupported) UnsupportedInstruction?.Invoke(ins.IP, ins.ToString());
            n++;
            if (flow != Flow.Continue || consumed >= avail) break;
        }
        var arr = new DecodedInstruction[n + 1];
        Array.Copy(_scratch, arr, n);
        arr[n].Exec = &EndBlock;
        var b = new CodeBlock(phys, Mode.Bitness, arr);
        _code.Add(b);
        return b;
    }

    /// <summary>An instruction that crosses into the next page: decoded from a copy each time it runs (rare)
    /// and never cached, so writes to either page are seen.</summary>
    private CodeBlock BuildStraddling(ulong phys, ulong lin)
    {
        byte* buf = stackalloc byte[16];
        int first = (int)(4096 - (phys & 0xFFF));
        this.PhysRead(phys, buf, first);
        ulong phys2 = this.TranslateFetch(lin + (ulong)first);
        if (!_mem.IsRamPage(phys2 >> 12)) throw Fault(Vec.GP, 0);
        this.PhysRead(phys2, buf + first, 15 - first);
        _reader.Reset(buf, 15);
        var decoder = Decoder.Create(Mode.Bitness, _reader, lin, DecoderOptions.None);
        decoder.Decode(out Instruction ins);
        var arr = new DecodedInstruction[2];
        var flow = Translator.Translate(in ins, Mode.Bitness, Model.Vendor, ref arr[0]);
        if (flow == Flow.Unsupported) UnsupportedInstruction?.Invoke(ins.IP, ins.ToString());
        arr[1].Exec = &EndBlock;
        return new CodeBlock(phys, Mode.Bitness, arr) { Cacheable = false };
    }

    /// <summary>The sentinel after a block's last instruction: leave the block (RIP already points past it).</summary>
    internal static int EndBlock(X86Cpu c, ref DecodedInstruction d)
    {
        c.InstructionCount--; // the run loop counted this sentinel as an instruction
        return 1;
    }

    /// <summary>Makes every instruction of an invalidated block leave the block where it stands, so a block
    /// that is running while its own code is overwritten continues with freshly decoded code.</summary>
    internal static void PoisonBlock(CodeBlock b)
    {
        var arr = b.Instructions;
        for (int i = 0; i < arr.Length; i++) arr[i].Exec = &EndBlock;
    }

    internal static int RaiseUd(X86Cpu c, ref DecodedInstruction d) => throw c.Fault(Vec.UD);
}

