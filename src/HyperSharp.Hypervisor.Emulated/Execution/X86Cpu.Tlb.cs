using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>One soft-TLB entry: a 4 KiB virtual page that maps to guest RAM.</summary>
internal unsafe struct TlbEntry
{
    /// <summary>Virtual page address | access key (1 supervisor, 2 user, 3 user with alignment checking: fetch TLB only); 0 = empty.</summary>
    public ulong Tag;
    /// <summary>Host pointer minus virtual address: host = (byte*)(Addend + lin).</summary>
    public nint Addend;
    /// <summary>The write-trap bitmap word and bit of the physical page (stores test it: code or dirty logging).</summary>
    public ulong* TrapWord;
    public ulong TrapBit;
    public ulong PhysPage;
    public bool Global;
}

public sealed unsafe partial class X86Cpu
{
    // Three direct-mapped TLBs: a hit means "this access kind, at this privilege, to this page, is
    // allowed and goes to RAM at Addend". Entries are filled only after a successful walk that already
    // set the A bit (and D for the write TLB), so a hit never needs to touch the page tables.
    // MMIO pages are never entered, so every MMIO access takes the slow path to the I/O handler.
    internal const int TlbSize = 512;
    private readonly TlbEntry[] _tlbR = new TlbEntry[TlbSize];
    private readonly TlbEntry[] _tlbW = new TlbEntry[TlbSize];
    private readonly TlbEntry[] _tlbX = new TlbEntry[TlbSize];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref TlbEntry Slot(TlbEntry[] tlb, ulong lin)
        => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(tlb), (nint)((lin >> 12) & (TlbSize - 1)));

    /// <summary>
    /// Drops the TLBs and the block lookup cache by moving to the next generation (tags of older entries no
    /// longer match): O(1), which matters because a guest kernel reloads CR3 on every context switch (and, with
    /// page-table isolation, on every system call). Global pages are dropped as well: a TLB may always forget
    /// an entry, and re-walking them is cheaper than sweeping every entry to keep them.
    /// </summary>
    internal void FlushTlb()
    {
        ulong gen = ((_accessKey >> 2) & 0x3FF) + 1;
        if (gen > 0x3FF)
        {
            // Generation counter wrapped: really clear, so no entry from 1024 flushes ago can match again.
            Array.Clear(_tlbR); Array.Clear(_tlbW); Array.Clear(_tlbX);
            Array.Clear(_lookup);
            gen = 1;
        }
        _accessKey = (gen << 2) | (_accessKey & 3);
        _lookupGen++;
    }

    /// <summary>INVLPG: drops the page in every TLB regardless of global.</summary>
    internal void FlushTlbPage(ulong lin)
    {
        ulong page = lin & ~0xFFFUL;
        Drop(_tlbR, lin, page); Drop(_tlbW, lin, page); Drop(_tlbX, lin, page);
        _lookupGen++; // the block lookup is keyed by linear address: drop it all (INVLPG is rare)

        static void Drop(TlbEntry[] tlb, ulong lin, ulong page)
        {
            ref var e = ref Slot(tlb, lin);
            if ((e.Tag & ~0xFFFUL) == page) e.Tag = 0;
        }
    }

    private void Fill(TlbEntry[] tlb, ulong lin, ulong phys, bool global)
    {
        ulong ppn = phys >> 12;
        if (!_mem.IsRamPage(ppn)) return; // MMIO: never cached
        if (_bpData && tlb != _tlbX && PageHasDataBreakpoint(lin)) return; // every access must reach the check
        if ((_accessKey & 3) == 3 && tlb != _tlbX) return; // alignment checking: every data access takes the slow path
        ref var e = ref Slot(tlb, lin);
        e.Tag = (lin & ~0xFFFUL) | _accessKey;
        e.Addend = (nint)(_mem.Ram + (phys & ~0xFFFUL)) - (nint)(lin & ~0xFFFUL);
        e.TrapWord = _mem.WriteTrapBits + (ppn >> 6);
        e.TrapBit = 1UL << (int)(ppn & 63);
        e.PhysPage = ppn;
        e.Global = global;
    }
}
