using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>The kind of access a linear address is translated for (page-walk permission checks, which TLB it fills).</summary>
internal enum MemoryAccess { Read = 0, Write = 1, Fetch = 2 }

/// <summary>
/// Linear-address memory access for instructions through the processor's soft TLB. Fast path: one TLB tag compare and
/// a page-crossing test, then a host load/store; everything else (misses, page-crossing, MMIO, code pages, data
/// breakpoints, alignment checks) goes the slow way through <see cref="PageWalker"/> and the physical accessors.
/// </summary>
/// <remarks>Static, taking the processor, like <see cref="PageWalker"/>; written as C# 14 extension members so the
/// handlers keep calling <c>c.Load&lt;T&gt;(lin)</c>: each compiles to a static method whose first argument is the
/// processor, the same code as the instance method it was, with no object or reference in between.</remarks>
internal static unsafe class LinearMemory
{
    /// <summary>Serializes locked accesses that cross a page or hit MMIO (no single host atomic covers them).</summary>
    internal static readonly Lock SplitLock = new();

    extension(X86Cpu c)
    {
        /// <summary>Enters a translation into one of the TLBs, unless every access to the page must take the slow path
        /// (MMIO, a data breakpoint on it, alignment checking).</summary>
        private void Fill(TlbEntry[] tlb, ulong lin, ulong phys, bool global)
        {
            if (!c._mem.IsRamPage(phys >> 12)) return; // MMIO: never cached
            if (c._breakpoints.Data && tlb != c._tlb.Fetch && Breakpoints.PageHasData(c.Arch.Dr, lin)) return; // every access must reach the check
            if ((c._tlb.AccessKey & 3) == 3 && tlb != c._tlb.Fetch) return; // alignment checking: every data access takes the slow path
            c._tlb.Enter(tlb, lin, phys, c._mem, global);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Load<T>(ulong lin) where T : unmanaged
        {
            ref var e = ref SoftTlb.Slot(c._tlb.Read, lin);
            if (e.Tag == ((lin & ~0xFFFUL) | c._tlb.AccessKey) && (lin & 0xFFF) <= (ulong)(4096 - sizeof(T)))
                // Safe: a TLB hit means the page is RAM inside the guest buffer and the access ends in it.
                return Unsafe.ReadUnaligned<T>((byte*)(e.Addend + (nint)lin));
            T v;
            c.LoadSlow(lin, (byte*)&v, sizeof(T));
            return v;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store<T>(ulong lin, T value) where T : unmanaged
        {
            ref var e = ref SoftTlb.Slot(c._tlb.Write, lin);
            if (e.Tag == ((lin & ~0xFFFUL) | c._tlb.AccessKey) && (lin & 0xFFF) <= (ulong)(4096 - sizeof(T))
                && (*e.TrapWord & e.TrapBit) == 0)
            {
                // Safe: as in Load; no cached code and no dirty logging need to see this store (checked just above).
                Unsafe.WriteUnaligned((byte*)(e.Addend + (nint)lin), value);
                return;
            }
            c.StoreSlow(lin, (byte*)&value, sizeof(T));
        }

        /// <summary>
        /// Host pointer for a read-modify-write of <paramref name="size"/> bytes, translated for writing
        /// (so a fault comes before anything changes), or null when the access is MMIO or crosses a page
        /// (callers then use Load + Store). Cached code on the page is invalidated first.
        /// </summary>
        public byte* PtrForWrite(ulong lin, int size)
        {
            if (c._breakpoints.Data) c._breakpoints.CheckData(c.Arch.Dr, lin, size, true);
            if ((lin & 0xFFF) > (ulong)(4096 - size))
            {
                // Probe both pages for write permission first, so the later Store cannot fault half way.
                c.TranslateData(lin, MemoryAccess.Write);
                c.TranslateData(lin + (ulong)size - 1, MemoryAccess.Write);
                return null;
            }
            ref var e = ref SoftTlb.Slot(c._tlb.Write, lin);
            if (e.Tag != ((lin & ~0xFFFUL) | c._tlb.AccessKey))
            {
                ulong phys = c.TranslateData(lin, MemoryAccess.Write);
                if (!c._mem.IsRamPage(phys >> 12)) return null;
                e = ref SoftTlb.Slot(c._tlb.Write, lin);
                if (e.Tag != ((lin & ~0xFFFUL) | c._tlb.AccessKey)) return null;
            }
            if ((*e.TrapWord & e.TrapBit) != 0) c._mem.NoteWrite(e.PhysPage);
            return (byte*)(e.Addend + (nint)lin);
        }

        /// <summary>Translates for a data access and fills the matching TLB.</summary>
        public ulong TranslateData(ulong lin, MemoryAccess access)
        {
            ulong phys = PageWalker.Translate(c, lin, access, out bool global);
            c.Fill(access == MemoryAccess.Write ? c._tlb.Write : c._tlb.Read, lin, phys, global);
            return phys;
        }

        /// <summary>Translates an instruction fetch: the fetch TLB, else a page walk for execute permission that fills it.</summary>
        public ulong TranslateFetch(ulong lin)
        {
            ref var t = ref SoftTlb.Slot(c._tlb.Fetch, lin);
            if (t.Tag == ((lin & ~0xFFFUL) | c._tlb.AccessKey))
                return (t.PhysPage << 12) | (lin & 0xFFF);
            ulong phys = PageWalker.Translate(c, lin, MemoryAccess.Fetch, out bool global);
            c.Fill(c._tlb.Fetch, lin, phys, global);
            return phys;
        }

        // Two entry points with three arguments each, not one with the access as a fourth: the call is inlined into
        // every load and store of every handler and compiled block, where a fourth argument costs bytes at each site.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void LoadSlow(ulong lin, byte* dst, int size) => c.AccessSlow(lin, dst, size, MemoryAccess.Read);

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void StoreSlow(ulong lin, byte* src, int size) => c.AccessSlow(lin, src, size, MemoryAccess.Write);

        /// <summary>A load or store the fast path did not take (TLB miss, page crossing, MMIO, a watched page, alignment
        /// checking): checks, then translates every page it touches before moving a byte, so a fault leaves memory as it was.</summary>
        private void AccessSlow(ulong lin, byte* buf, int size, MemoryAccess access)
        {
            bool write = access == MemoryAccess.Write;
            c.CheckAlignment(lin, size);
            if (c._breakpoints.Data) c._breakpoints.CheckData(c.Arch.Dr, lin, size, write);
            int first = (int)Math.Min((ulong)size, 4096 - (lin & 0xFFF));
            ulong p0 = c.TranslateData(lin, access);
            if (first == size) { c.PhysAccess(p0, buf, size, write); return; }
            ulong p1 = c.TranslateData(lin + (ulong)first, access);
            c.PhysAccess(p0, buf, first, write);
            c.PhysAccess(p1, buf + first, size - first, write);
        }

        private void PhysAccess(ulong phys, byte* buf, int size, bool write)
        {
            if (write) c.PhysWrite(phys, buf, size); else c.PhysRead(phys, buf, size);
        }

        /// <summary>
        /// #AC(0) for a misaligned 2-, 4- or 8-byte data access while alignment checking is on (access key 3:
        /// CR0.AM, RFLAGS.AC, CPL 3). Wider accesses reach here in 8-byte pieces or as SSE/x87 operands whose own
        /// alignment rules apply; descriptor-table and TSS accesses run with the supervisor key and are not checked,
        /// as on hardware.
        /// </summary>
        private void CheckAlignment(ulong lin, int size)
        {
            if ((c._tlb.AccessKey & 3) == 3 && size is 2 or 4 or 8 && (lin & (ulong)(size - 1)) != 0) throw c.Fault(Vec.AC, 0);
        }

        /// <summary>Reads guest-physical memory within one page: RAM directly, else the MMIO handler.</summary>
        public void PhysRead(ulong phys, byte* dst, int size)
        {
            if (c._mem.IsRam(phys, (ulong)size))
                Buffer.MemoryCopy(c._mem.Ram + phys, dst, size, size); // Safe: range checked against RAM size.
            else
                c._io.MmioRead(phys, new Span<byte>(dst, size));
        }

        public void PhysWrite(ulong phys, byte* src, int size)
        {
            if (c._mem.IsRam(phys, (ulong)size))
            {
                ulong ppn = phys >> 12;
                if (c._mem.IsTrapped(ppn)) c._mem.NoteWrite(ppn);
                Buffer.MemoryCopy(src, c._mem.Ram + phys, size, size); // Safe: range checked against RAM size.
            }
            else
                c._io.MmioWrite(phys, new ReadOnlySpan<byte>(src, size));
        }

        /// <summary>Supervisor-privilege ("implicit") access: descriptor tables, IDT, TSS, whatever the CPL.</summary>
        public T LoadSystem<T>(ulong lin) where T : unmanaged
        {
            ulong k = c._tlb.AccessKey;
            c._tlb.AccessKey = (k & ~3UL) | 1;
            try { return c.Load<T>(lin); } finally { c._tlb.AccessKey = k; }
        }

        public void StoreSystem<T>(ulong lin, T value) where T : unmanaged
        {
            ulong k = c._tlb.AccessKey;
            c._tlb.AccessKey = (k & ~3UL) | 1;
            try { c.Store(lin, value); } finally { c._tlb.AccessKey = k; }
        }

        /// <summary>A 128-bit memory operand; <paramref name="aligned"/> forms #GP(0) on a misaligned address.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<byte> Load128(ref DecodedInstruction d, bool aligned)
        {
            ulong lin = c.Lin(ref d);
            if (aligned && (lin & 15) != 0) throw c.Fault(Vec.GP, 0);
            return c.Load<Vector128<byte>>(lin);
        }

        public void Store128(ref DecodedInstruction d, Vector128<byte> v, bool aligned)
        {
            ulong lin = c.Lin(ref d);
            if (aligned && (lin & 15) != 0) throw c.Fault(Vec.GP, 0);
            c.Store(lin, v);
        }
    }
}
