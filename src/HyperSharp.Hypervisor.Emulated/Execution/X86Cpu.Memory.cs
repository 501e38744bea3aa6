using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    // Linear-address memory access for instructions. Fast path: one TLB tag compare and a page-crossing
    // test, then a host load/store. Everything else (misses, page-crossing, MMIO, code pages) goes slow.

    /// <summary>Read, write and fetch translations of this processor (see <see cref="SoftTlb"/>).</summary>
    internal SoftTlb _tlb = new();

    /// <summary>Drops the TLBs and the block lookup cache (CR3/CR0/CR4/EFER writes, breakpoint changes): one generation
    /// increment each.</summary>
    internal void FlushTlb()
    {
        if (_tlb.NextGeneration()) Array.Clear(_lookup);
        _lookupGen++;
    }

    /// <summary>INVLPG: drops the page in every TLB regardless of global.</summary>
    internal void FlushTlbPage(ulong lin)
    {
        _tlb.DropPage(lin);
        _lookupGen++; // the block lookup is keyed by linear address: drop it all (INVLPG is rare)
    }

    private void Fill(TlbEntry[] tlb, ulong lin, ulong phys, bool global)
    {
        if (!_mem.IsRamPage(phys >> 12)) return; // MMIO: never cached
        if (_breakpoints.Data && tlb != _tlb.Fetch && Breakpoints.PageHasData(Arch.Dr, lin)) return; // every access must reach the check
        if ((_tlb.AccessKey & 3) == 3 && tlb != _tlb.Fetch) return; // alignment checking: every data access takes the slow path
        _tlb.Enter(tlb, lin, phys, _mem, global);
    }

    /// <summary>Serializes locked accesses that cross a page or hit MMIO (no single host atomic covers them).</summary>
    internal static readonly Lock SplitLock = new();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal T Load<T>(ulong lin) where T : unmanaged
    {
        ref var e = ref SoftTlb.Slot(_tlb.Read, lin);
        if (e.Tag == ((lin & ~0xFFFUL) | _tlb.AccessKey) && (lin & 0xFFF) <= (ulong)(4096 - sizeof(T)))
            // Safe: a TLB hit means the page is RAM inside the guest buffer and the access ends in it.
            return Unsafe.ReadUnaligned<T>((byte*)(e.Addend + (nint)lin));
        T v;
        LoadSlow(lin, (byte*)&v, sizeof(T));
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Store<T>(ulong lin, T value) where T : unmanaged
    {
        ref var e = ref SoftTlb.Slot(_tlb.Write, lin);
        if (e.Tag == ((lin & ~0xFFFUL) | _tlb.AccessKey) && (lin & 0xFFF) <= (ulong)(4096 - sizeof(T))
            && (*e.TrapWord & e.TrapBit) == 0)
        {
            // Safe: as in Load; no cached code and no dirty logging need to see this store (checked just above).
            Unsafe.WriteUnaligned((byte*)(e.Addend + (nint)lin), value);
            return;
        }
        StoreSlow(lin, (byte*)&value, sizeof(T));
    }

    /// <summary>
    /// Host pointer for a read-modify-write of <paramref name="size"/> bytes, translated for writing
    /// (so a fault comes before anything changes), or null when the access is MMIO or crosses a page
    /// (callers then use Load + Store). Cached code on the page is invalidated first.
    /// </summary>
    internal byte* PtrForWrite(ulong lin, int size)
    {
        if (_breakpoints.Data) _breakpoints.CheckData(Arch.Dr, lin, size, true);
        if ((lin & 0xFFF) > (ulong)(4096 - size))
        {
            // Probe both pages for write permission first, so the later Store cannot fault half way.
            TranslateData(lin, Access.Write);
            TranslateData(lin + (ulong)size - 1, Access.Write);
            return null;
        }
        ref var e = ref SoftTlb.Slot(_tlb.Write, lin);
        if (e.Tag != ((lin & ~0xFFFUL) | _tlb.AccessKey))
        {
            ulong phys = TranslateData(lin, Access.Write);
            if (!_mem.IsRamPage(phys >> 12)) return null;
            e = ref SoftTlb.Slot(_tlb.Write, lin);
            if (e.Tag != ((lin & ~0xFFFUL) | _tlb.AccessKey)) return null;
        }
        if ((*e.TrapWord & e.TrapBit) != 0) _mem.NoteWrite(e.PhysPage);
        return (byte*)(e.Addend + (nint)lin);
    }

    internal enum Access { Read = 0, Write = 1, Fetch = 2 }

    /// <summary>Translates for a data access and fills the matching TLB.</summary>
    internal ulong TranslateData(ulong lin, Access access)
    {
        ulong phys = PageWalker.Translate(this, lin, access, out bool global);
        Fill(access == Access.Write ? _tlb.Write : _tlb.Read, lin, phys, global);
        return phys;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LoadSlow(ulong lin, byte* dst, int size)
    {
        CheckAlignment(lin, size);
        if (_breakpoints.Data) _breakpoints.CheckData(Arch.Dr, lin, size, false);
        int first = (int)Math.Min((ulong)size, 4096 - (lin & 0xFFF));
        ulong p0 = TranslateData(lin, Access.Read);
        if (first == size) { PhysRead(p0, dst, size); return; }
        ulong p1 = TranslateData(lin + (ulong)first, Access.Read);
        PhysRead(p0, dst, first);
        PhysRead(p1, dst + first, size - first);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StoreSlow(ulong lin, byte* src, int size)
    {
        CheckAlignment(lin, size);
        if (_breakpoints.Data) _breakpoints.CheckData(Arch.Dr, lin, size, true);
        int first = (int)Math.Min((ulong)size, 4096 - (lin & 0xFFF));
        ulong p0 = TranslateData(lin, Access.Write);
        if (first == size) { PhysWrite(p0, src, size); return; }
        ulong p1 = TranslateData(lin + (ulong)first, Access.Write); // both translated before either write
        PhysWrite(p0, src, first);
        PhysWrite(p1, src + first, size - first);
    }

    /// <summary>
    /// #AC(0) for a misaligned 2-, 4- or 8-byte data access while alignment checking is on (access key 3:
    /// CR0.AM, RFLAGS.AC, CPL 3). Wider accesses reach here in 8-byte pieces or as SSE/x87 operands whose own
    /// alignment rules apply; descriptor-table and TSS accesses run with the supervisor key and are not checked,
    /// as on hardware.
    /// </summary>
    private void CheckAlignment(ulong lin, int size)
    {
        if ((_tlb.AccessKey & 3) == 3 && size is 2 or 4 or 8 && (lin & (ulong)(size - 1)) != 0) throw Fault(Vec.AC, 0);
    }

    /// <summary>Reads guest-physical memory within one page: RAM directly, else the MMIO handler.</summary>
    internal void PhysRead(ulong phys, byte* dst, int size)
    {
        if (_mem.IsRam(phys, (ulong)size))
            Buffer.MemoryCopy(_mem.Ram + phys, dst, size, size); // Safe: range checked against RAM size.
        else
            _io.MmioRead(phys, new Span<byte>(dst, size));
    }

    internal void PhysWrite(ulong phys, byte* src, int size)
    {
        if (_mem.IsRam(phys, (ulong)size))
        {
            ulong ppn = phys >> 12;
            if (_mem.IsTrapped(ppn)) _mem.NoteWrite(ppn);
            Buffer.MemoryCopy(src, _mem.Ram + phys, size, size); // Safe: range checked against RAM size.
        }
        else
            _io.MmioWrite(phys, new ReadOnlySpan<byte>(src, size));
    }

    /// <summary>Supervisor-privilege ("implicit") access: descriptor tables, IDT, TSS, whatever the CPL.</summary>
    internal T LoadSystem<T>(ulong lin) where T : unmanaged
    {
        ulong k = _tlb.AccessKey;
        _tlb.AccessKey = (k & ~3UL) | 1;
        try { return Load<T>(lin); } finally { _tlb.AccessKey = k; }
    }

    internal void StoreSystem<T>(ulong lin, T value) where T : unmanaged
    {
        ulong k = _tlb.AccessKey;
        _tlb.AccessKey = (k & ~3UL) | 1;
        try { Store(lin, value); } finally { _tlb.AccessKey = k; }
    }

    /// <summary>A 128-bit memory operand; <paramref name="aligned"/> forms #GP(0) on a misaligned address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Vector128<byte> Load128(ref DecodedInstruction d, bool aligned)
    {
        ulong lin = Lin(ref d);
        if (aligned && (lin & 15) != 0) throw Fault(Vec.GP, 0);
        return Load<Vector128<byte>>(lin);
    }

    internal void Store128(ref DecodedInstruction d, Vector128<byte> v, bool aligned)
    {
        ulong lin = Lin(ref d);
        if (aligned && (lin & 15) != 0) throw Fault(Vec.GP, 0);
        Store(lin, v);
    }
}
