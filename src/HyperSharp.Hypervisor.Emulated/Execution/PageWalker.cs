namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The page walker: 4-level long-mode paging (4 KiB, 2 MiB, 1 GiB pages), legacy PAE paging and 32-bit paging (4 MiB pages
/// with PSE), with every check of the mode in force (present, R/W with CR0.WP, U/S, NX, reserved bits), the A and D bits
/// set atomically (other vCPUs walk the same tables) and the #PF error code. It keeps no state: it reads the processor's
/// control registers and guest memory, and the processor's soft TLB caches what it finds.
/// </summary>
internal static unsafe class PageWalker
{
    /// <summary>Physical address width this CPU model reports (CPUID 80000008h).</summary>
    // 46 bits (64 TiB) as current server CPUs report: guests up to Hyper-V's 12 TB (and beyond) need more than 40.
    internal const int MaxPhysAddrBits = 46;
    private const ulong PhysAddrMask = ((1UL << MaxPhysAddrBits) - 1) & ~0xFFFUL;
    private const ulong PteP = 1, PteRW = 2, PteUS = 4, PteA = 0x20, PteD = 0x40, PtePS = 0x80, PteG = 0x100;
    private const ulong PteNX = 1UL << 63;

    /// <summary>Page-fault error code bits.</summary>
    internal const uint PfPresent = 1, PfWrite = 2, PfUser = 4, PfRsvd = 8, PfFetch = 16;

    /// <summary>
    /// Linear to physical for one access, with every check of the paging mode in force; throws #PF
    /// (CR2 = the address) or #GP for a non-canonical address. On success sets the A bits of all
    /// entries used and, for a write, D of the leaf, atomically (other vCPUs walk the same tables).
    /// </summary>
    internal static ulong Translate(X86Cpu c, ulong lin, MemoryAccess access, out bool global)
    {
        global = false;
        if (!c.Mode.Paging) return lin & c.Mode.LinMask;
        if (c.Mode.LongMode)
        {
            if ((ulong)(((long)lin << 16) >> 16) != lin) throw c.Fault(Vec.GP, 0);
            return Walk4(c, lin, access, out global);
        }
        if ((c.Arch.Cr4 & ControlRegisters.Cr4PAE) != 0) return WalkPae(c, lin & 0xFFFFFFFF, access, out global);
        return Walk2(c, lin & 0xFFFFFFFF, access, out global);
    }

    private static ulong* Pte(X86Cpu c, ulong phys)
    {
        // Paging structures outside RAM read as "not present" (the walk then faults).
        if (!c._mem.IsRam(phys, 8)) return null;
        return (ulong*)(c._mem.Ram + phys); // Safe: range checked above; entries are 8-byte aligned.
    }

    private static ulong Walk4(X86Cpu c, ulong lin, MemoryAccess access, out bool global)
    {
        bool user = (c._tlb.AccessKey & 3) >= 2;
        bool nxe = (c.Arch.Efer & ControlRegisters.EferNXE) != 0;
        ulong rsvdHigh = ((1UL << 52) - 1) & ~((1UL << MaxPhysAddrBits) - 1); // address bits MAXPHYADDR..51
        if (!nxe) rsvdHigh |= PteNX;
        ulong* entries = stackalloc ulong[4];
        ulong** ptrs = stackalloc ulong*[4];
        ulong table = c.Arch.Cr3 & PhysAddrMask;
        bool writable = true, userOk = true, noExec = false;
        int level = 3; // 3 = PML4 ... 0 = PT
        ulong pageSize = 4096;
        int used = 0;
        while (true)
        {
            ulong* p = Pte(c, table + (((lin >> (12 + 9 * level)) & 511) << 3));
            ulong e = p == null ? 0 : *p;
            if ((e & PteP) == 0) throw PageFault(c, lin, access, 0);
            ulong rsvd = rsvdHigh;
            if (level == 3) rsvd |= PtePS;
            else if ((e & PtePS) != 0 && level == 2) rsvd |= 0x3FFFE000UL;  // 1 GiB page: bits 29:13
            else if ((e & PtePS) != 0 && level == 1) rsvd |= 0x1FE000UL;    // 2 MiB page: bits 20:13
            if ((e & rsvd) != 0) throw PageFault(c, lin, access, PfPresent | PfRsvd);
            entries[used] = e; ptrs[used] = p; used++;
            writable &= (e & PteRW) != 0;
            userOk &= (e & PteUS) != 0;
            noExec |= nxe && (e & PteNX) != 0;
            if (level == 0 || (level <= 2 && (e & PtePS) != 0))
            {
                pageSize = 1UL << (12 + 9 * level);
                break;
            }
            table = e & PhysAddrMask;
            level--;
        }
        ulong leaf = entries[used - 1];
        CheckAccess(c, lin, access, user, writable, userOk, noExec);
        for (int i = 0; i < used; i++)
        {
            ulong want = PteA | (i == used - 1 && access == MemoryAccess.Write ? PteD : 0);
            if ((entries[i] & want) != want)
            {
                Interlocked.Or(ref *ptrs[i], want); // Safe: ptrs[i] was range-checked by Pte.
                NotePageTableWrite(c, ptrs[i]);
            }
        }
        global = (leaf & PteG) != 0 && (c.Arch.Cr4 & ControlRegisters.Cr4PGE) != 0;
        ulong frame = leaf & PhysAddrMask & ~(pageSize - 1);
        return frame | (lin & (pageSize - 1));
    }

    /// <summary>
    /// Legacy PAE paging (32-bit linear addresses, 64-bit entries): 4 PDPTEs, then PD (2 MiB pages) and PT.
    /// Simplification: the PDPTEs are read at each walk instead of being cached at the CR3 load.
    /// </summary>
    private static ulong WalkPae(X86Cpu c, ulong lin, MemoryAccess access, out bool global)
    {
        bool user = (c._tlb.AccessKey & 3) >= 2;
        bool nxe = (c.Arch.Efer & ControlRegisters.EferNXE) != 0;
        ulong rsvdHigh = ((1UL << 52) - 1) & ~((1UL << MaxPhysAddrBits) - 1);
        if (!nxe) rsvdHigh |= PteNX;
        ulong* pdpteP = Pte(c, (c.Arch.Cr3 & 0xFFFFFFE0) + ((lin >> 30) << 3));
        ulong pdpte = pdpteP == null ? 0 : *pdpteP;
        if ((pdpte & PteP) == 0) throw PageFault(c, lin, access, 0);
        if ((pdpte & (rsvdHigh | 0x1E6 | PteNX)) != 0) throw PageFault(c, lin, access, PfPresent | PfRsvd);
        ulong* pdeP = Pte(c, (pdpte & PhysAddrMask) + (((lin >> 21) & 511) << 3));
        ulong pde = pdeP == null ? 0 : *pdeP;
        if ((pde & PteP) == 0) throw PageFault(c, lin, access, 0);
        if ((pde & PtePS) != 0)
        {
            if ((pde & (rsvdHigh | 0x1FE000)) != 0) throw PageFault(c, lin, access, PfPresent | PfRsvd);
            CheckAccess(c, lin, access, user, (pde & PteRW) != 0, (pde & PteUS) != 0, nxe && (pde & PteNX) != 0);
            SetBits64(c, pdeP, PteA | (access == MemoryAccess.Write ? PteD : 0));
            global = (pde & PteG) != 0 && (c.Arch.Cr4 & ControlRegisters.Cr4PGE) != 0;
            return (pde & PhysAddrMask & ~0x1FFFFFUL) | (lin & 0x1FFFFF);
        }
        if ((pde & rsvdHigh) != 0) throw PageFault(c, lin, access, PfPresent | PfRsvd);
        ulong* pteP = Pte(c, (pde & PhysAddrMask) + (((lin >> 12) & 511) << 3));
        ulong pte = pteP == null ? 0 : *pteP;
        if ((pte & PteP) == 0) throw PageFault(c, lin, access, 0);
        if ((pte & rsvdHigh) != 0) throw PageFault(c, lin, access, PfPresent | PfRsvd);
        CheckAccess(c, lin, access, user, (pde & pte & PteRW) != 0, (pde & pte & PteUS) != 0, nxe && ((pde | pte) & PteNX) != 0);
        SetBits64(c, pdeP, PteA);
        SetBits64(c, pteP, PteA | (access == MemoryAccess.Write ? PteD : 0));
        global = (pte & PteG) != 0 && (c.Arch.Cr4 & ControlRegisters.Cr4PGE) != 0;
        return (pte & PhysAddrMask) | (lin & 0xFFF);
    }

    private static void SetBits64(X86Cpu c, ulong* p, ulong bits)
    {
        if ((*p & bits) != bits)
        {
            Interlocked.Or(ref *p, bits); // Safe: p was range-checked by Pte.
            NotePageTableWrite(c, p);
        }
    }

    /// <summary>32-bit (non-PAE) paging: two levels, 4 MiB pages with CR4.PSE.</summary>
    private static ulong Walk2(X86Cpu c, ulong lin, MemoryAccess access, out bool global)
    {
        bool user = (c._tlb.AccessKey & 3) >= 2;
        ulong* pdeP = Pte32(c, ((c.Arch.Cr3 & 0xFFFFF000) + ((lin >> 22) << 2)));
        uint pde = pdeP == null ? 0 : *(uint*)pdeP;
        if ((pde & PteP) == 0) throw PageFault(c, lin, access, 0);
        if ((pde & PtePS) != 0 && (c.Arch.Cr4 & ControlRegisters.Cr4PSE) != 0)
        {
            CheckAccess(c, lin, access, user, (pde & PteRW) != 0, (pde & PteUS) != 0, false);
            SetBits32(c, pdeP, PteA | (access == MemoryAccess.Write ? PteD : 0));
            global = (pde & PteG) != 0 && (c.Arch.Cr4 & ControlRegisters.Cr4PGE) != 0;
            ulong frame = (pde & 0xFFC00000UL) | ((ulong)(pde >> 13) & 0xFF) << 32;
            return frame | (lin & 0x3FFFFF);
        }
        ulong* pteP = Pte32(c, (pde & 0xFFFFF000UL) + (((lin >> 12) & 1023) << 2));
        uint pte = pteP == null ? 0 : *(uint*)pteP;
        if ((pte & PteP) == 0) throw PageFault(c, lin, access, 0);
        CheckAccess(c, lin, access, user, (pde & pte & PteRW) != 0, (pde & pte & PteUS) != 0, false);
        SetBits32(c, pdeP, PteA);
        SetBits32(c, pteP, PteA | (access == MemoryAccess.Write ? PteD : 0));
        global = (pte & PteG) != 0 && (c.Arch.Cr4 & ControlRegisters.Cr4PGE) != 0;
        return (pte & 0xFFFFF000UL) | (lin & 0xFFF);
    }

    private static ulong* Pte32(X86Cpu c, ulong phys) => !c._mem.IsRam(phys, 4) ? null : (ulong*)(c._mem.Ram + phys); // Safe: checked.

    private static void SetBits32(X86Cpu c, ulong* p, ulong bits)
    {
        uint* q = (uint*)p;
        if ((*q & (uint)bits) != (uint)bits)
        {
            Interlocked.Or(ref *q, (uint)bits); // Safe: q checked by Pte32.
            NotePageTableWrite(c, p);
        }
    }

    /// <summary>A/D updates are guest-memory writes too: dirty logging and code on the same page must see them.</summary>
    private static void NotePageTableWrite(X86Cpu c, void* p)
    {
        ulong ppn = (ulong)((byte*)p - c._mem.Ram) >> 12;
        if (c._mem.IsTrapped(ppn)) c._mem.NoteWrite(ppn);
    }

    private static void CheckAccess(X86Cpu c, ulong lin, MemoryAccess access, bool user, bool writable, bool userOk, bool noExec)
    {
        if (user && !userOk) throw PageFault(c, lin, access, PfPresent);
        if (access == MemoryAccess.Write && !writable && (user || (c.Arch.Cr0 & ControlRegisters.Cr0WP) != 0)) throw PageFault(c, lin, access, PfPresent);
        if (access == MemoryAccess.Fetch && noExec) throw PageFault(c, lin, access, PfPresent);
    }

    private static GuestFault PageFault(X86Cpu c, ulong lin, MemoryAccess access, uint code)
    {
        if (access == MemoryAccess.Write) code |= PfWrite;
        if ((c._tlb.AccessKey & 3) >= 2) code |= PfUser;
        if (access == MemoryAccess.Fetch && (c.Arch.Efer & ControlRegisters.EferNXE) != 0) code |= PfFetch;
        c._delivery.Cr2 = lin;
        return c.Fault(Vec.PF, code);
    }
}
