using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.Translation;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// How a processor finds the block to run at RIP: a per-vCPU direct-mapped cache (linear RIP + mode and CPL to block),
/// else the partition's <see cref="CodeCache"/> by physical address, else the block decoded here by Iced and translated
/// to <see cref="DecodedInstruction"/>s. Virtual addresses mean something under one set of page tables only, so every
/// TLB flush drops the cache (a generation increment); invalidated blocks are skipped through their Valid flag.
/// </summary>
/// <remarks>A struct field of <see cref="X86Cpu"/> (as <see cref="SoftTlb"/> is), so the probe between two blocks
/// reaches its table at a fixed offset from the processor, with no object of its own to load first.</remarks>
internal unsafe struct BlockLookup()
{
    /// <summary>Longest block we decode: bounds decode work wasted when a block is invalidated early.</summary>
    private const int MaxBlockInstructions = 64;
    private const int Size = 4096;

    private struct Entry
    {
        public ulong Lin;
        public int Context;
        public int Gen;
        public CodeBlock? Block;
    }

    private readonly Entry[] _entries = new Entry[Size];
    /// <summary>Generation of the cache: entries of older generations are stale (TLB flushed since).</summary>
    private int _gen = 1;
    private readonly ByteWindowReader _reader = new();
    private readonly DecodedInstruction[] _scratch = new DecodedInstruction[MaxBlockInstructions + 1];

    /// <summary>Drops every entry; <paramref name="clear"/> when the generation numbers of the TLB wrapped and the table must be wiped too.</summary>
    public void Flush(bool clear)
    {
        if (clear) Array.Clear(_entries);
        _gen++;
    }

    /// <summary>The block at the processor's CS:RIP, or null when RIP is not in RAM (executing MMIO is not supported).</summary>
    /// <remarks>Static and reaching the table through <c>c._blocks</c>: inlined in the run loop, the table and the
    /// generation are then read at fixed offsets from the processor, as when they were its own fields.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CodeBlock? Find(X86Cpu c)
    {
        ulong lin = (c.Mode.SegBase((int)Seg.Cs) + c.Rip) & c.Mode.LinMask;
        int ctx = c.Mode.Bitness | (c.Mode.Cpl << 8);
        ref var e = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c._blocks._entries), (nint)((lin ^ (lin >> 12)) & (Size - 1)));
        var b = e.Block;
        if (e.Lin == lin && e.Context == ctx && e.Gen == c._blocks._gen && b != null && b.Valid) return b;
        return c._blocks.FindSlow(c, lin, ctx, ref e);
    }

    // Not inlined: the run loop between two blocks keeps only the probe (its machine code stays as small as before).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private CodeBlock? FindSlow(X86Cpu c, ulong lin, int ctx, ref Entry e)
    {
        ulong phys = c.TranslateFetch(lin);
        if (!c._mem.IsRamPage(phys >> 12)) return null;
        var b = c._code.Find(phys, c.Mode.Bitness) ?? Build(c, phys, lin);
        if (b.Cacheable) { e.Lin = lin; e.Context = ctx; e.Gen = _gen; e.Block = b; }
        return b;
    }

    /// <summary>Decodes a block at guest-physical <paramref name="phys"/> (linear <paramref name="lin"/>).</summary>
    private CodeBlock Build(X86Cpu c, ulong phys, ulong lin)
    {
        int bitness = c.Mode.Bitness;
        c._code.MarkCodePage(phys >> 12);
        int avail = (int)(4096 - (phys & 0xFFF));
        _reader.Reset(c._mem.Ram + phys, avail); // Safe: phys is a RAM page (checked by the caller); avail stays in it.
        var decoder = Decoder.Create(bitness, _reader, lin, DecoderOptions.None);
        int n = 0, consumed = 0;
        while (n < MaxBlockInstructions)
        {
            decoder.Decode(out Instruction ins);
            if (decoder.LastError == DecoderError.NoMoreBytes)
            {
                if (n == 0) return BuildStraddling(c, phys, lin);
                break; // the next instruction crosses the page: it starts the next block
            }
            consumed += ins.Length;
            var flow = Translator.Translate(in ins, bitness, c.Model.Vendor, ref _scratch[n]);
            if (flow == Flow.Unsupported) c.UnsupportedInstruction?.Invoke(ins.IP, ins.ToString());
            n++;
            if (flow != Flow.Continue || consumed >= avail) break;
        }
        var arr = new DecodedInstruction[n + 1];
        Array.Copy(_scratch, arr, n);
        arr[n].Exec = &EndBlock;
        var b = new CodeBlock(phys, bitness, arr);
        c._code.Add(b);
        return b;
    }

    /// <summary>An instruction that crosses into the next page: decoded from a copy each time it runs (rare)
    /// and never cached, so writes to either page are seen.</summary>
    private CodeBlock BuildStraddling(X86Cpu c, ulong phys, ulong lin)
    {
        byte* buf = stackalloc byte[16];
        int first = (int)(4096 - (phys & 0xFFF));
        c.PhysRead(phys, buf, first);
        ulong phys2 = c.TranslateFetch(lin + (ulong)first);
        if (!c._mem.IsRamPage(phys2 >> 12)) throw c.Fault(Vec.GP, 0);
        c.PhysRead(phys2, buf + first, 15 - first);
        _reader.Reset(buf, 15);
        var decoder = Decoder.Create(c.Mode.Bitness, _reader, lin, DecoderOptions.None);
        decoder.Decode(out Instruction ins);
        var arr = new DecodedInstruction[2];
        var flow = Translator.Translate(in ins, c.Mode.Bitness, c.Model.Vendor, ref arr[0]);
        if (flow == Flow.Unsupported) c.UnsupportedInstruction?.Invoke(ins.IP, ins.ToString());
        arr[1].Exec = &EndBlock;
        return new CodeBlock(phys, c.Mode.Bitness, arr) { Cacheable = false };
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
}
