using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Emulated.Memory;

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

/// <summary>
/// A processor's soft TLB: three direct-mapped arrays (read, write, fetch) and the access key every tag carries. A hit
/// means "this access kind, at this privilege, to this page, is allowed and goes to RAM at Addend". The owner enters a
/// page only after a successful walk that already set the A bit (and D for the write TLB), so a hit never needs to touch
/// the page tables, and never enters MMIO pages, so every MMIO access takes the slow path to the I/O handler.
/// </summary>
/// <remarks>A struct held in its processor's field (not a class it points to): the loads and stores of the
/// interpreter's fast path reach the arrays and the key at fixed offsets of the processor, as before it was a type.</remarks>
internal unsafe struct SoftTlb
{
    internal const int Size = 512;
    public readonly TlbEntry[] Read = new TlbEntry[Size];
    public readonly TlbEntry[] Write = new TlbEntry[Size];
    public readonly TlbEntry[] Fetch = new TlbEntry[Size];

    /// <summary>The low 12 bits of every TLB tag: bits 0-1 = 1 for supervisor, 2 for user accesses (3: user with alignment
    /// checking, never entered in the data TLBs); bits 2-11 = the TLB generation, so a flush is one increment instead of
    /// clearing every entry.</summary>
    public ulong AccessKey = 1 << 2 | 1;

    public SoftTlb() { }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref TlbEntry Slot(TlbEntry[] tlb, ulong lin)
        => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(tlb), (nint)((lin >> 12) & (Size - 1)));

    /// <summary>
    /// Drops every entry by moving to the next generation (tags of older entries no longer match): O(1), which matters
    /// because a guest kernel reloads CR3 on every context switch (and, with page-table isolation, on every system call).
    /// Global pages are dropped as well: a TLB may always forget an entry, and re-walking them is cheaper than sweeping
    /// every entry to keep them. Returns true when the generation counter wrapped and the arrays were really cleared.
    /// </summary>
    public bool NextGeneration()
    {
        ulong gen = ((AccessKey >> 2) & 0x3FF) + 1;
        bool wrapped = gen > 0x3FF;
        if (wrapped)
        {
            // Generation counter wrapped: really clear, so no entry from 1024 flushes ago can match again.
            Array.Clear(Read); Array.Clear(Write); Array.Clear(Fetch);
            gen = 1;
        }
        AccessKey = (gen << 2) | (AccessKey & 3);
        return wrapped;
    }

    /// <summary>INVLPG: drops the page in every TLB regardless of global.</summary>
    public readonly void DropPage(ulong lin)
    {
        ulong page = lin & ~0xFFFUL;
        Drop(Read, lin, page); Drop(Write, lin, page); Drop(Fetch, lin, page);

        static void Drop(TlbEntry[] tlb, ulong lin, ulong page)
        {
            ref var e = ref Slot(tlb, lin);
            if ((e.Tag & ~0xFFFUL) == page) e.Tag = 0;
        }
    }

    /// <summary>Enters the page of <paramref name="lin"/> at guest-physical <paramref name="phys"/>, a RAM page of
    /// <paramref name="memory"/>, under the current access key.</summary>
    public readonly void Enter(TlbEntry[] tlb, ulong lin, ulong phys, PhysicalMemory memory, bool global)
    {
        ulong ppn = phys >> 12;
        ref var e = ref Slot(tlb, lin);
        e.Tag = (lin & ~0xFFFUL) | AccessKey;
        e.Addend = (nint)(memory.Ram + (phys & ~0xFFFUL)) - (nint)(lin & ~0xFFFUL);
        e.TrapWord = memory.WriteTrapBits + (ppn >> 6);
        e.TrapBit = 1UL << (int)(ppn & 63);
        e.PhysPage = ppn;
        e.Global = global;
    }
}
