using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.Execution;

namespace HyperSharp.Hypervisor.Emulated.Memory;

/// <summary>
/// Guest RAM as the emulated CPUs of one partition see it: guest-physical [0, Length) maps to
/// host memory at <see cref="Ram"/>; everything else is MMIO and goes to the I/O handler.
/// Also owns what every write must respect, shared by all vCPUs: the "page holds cached code" bitmap
/// (self-modifying code), the dirty-page log (migration), and the decoded-code cache.
/// </summary>
/// <remarks>
/// Stores test one bit: <see cref="WriteTrapBits"/>, set for pages that hold cached code and, while dirty
/// logging is on, for pages not yet dirty. A set bit sends the store to the slow path, which invalidates
/// code, marks the page dirty and clears the trap where it can. So neither feature costs the fast path more
/// than the single bit test.
/// </remarks>
public sealed unsafe class PhysicalMemory : IDisposable
{
    /// <summary>Host address of guest-physical address 0. The caller keeps it valid for our lifetime.</summary>
    public byte* Ram { get; }
    public ulong Length { get; }
    internal ulong PageCount => Length >> 12;

    /// <summary>
    /// An MMIO window inside [0, Length) that is not RAM (the PC's 32-bit PCI hole, when RAM continues
    /// above 4 GiB at the same host offsets). Empty unless <see cref="SetHole"/> was called.
    /// </summary>
    public ulong HoleStart { get; private set; } = ulong.MaxValue;
    public ulong HoleEnd { get; private set; } = ulong.MaxValue;

    /// <summary>Declares [start, end) as MMIO (page aligned). Call before any processor runs.</summary>
    public void SetHole(ulong start, ulong end)
    {
        if (start > end || end > RamEnd || ((start | end) & 0xFFF) != 0) throw new ArgumentException($"hole 0x{start:X}-0x{end:X} must be page aligned inside RAM");
        (HoleStart, HoleEnd) = (start, end);
    }

    private ulong _ramEnd;

    /// <summary>
    /// End of the RAM the guest has now: Length is what the host reserved (room for memory added while the guest
    /// runs), RamEnd how much of it is mapped. The soft TLB never caches MMIO, so raising it needs no flush.
    /// </summary>
    public ulong RamEnd => Volatile.Read(ref _ramEnd);

    /// <summary>
    /// Makes [start, end) RAM while processors run (memory hot-add). It must start at or above <see cref="RamEnd"/>
    /// and end within Length; a gap before it becomes the one hole, so there must not be one already.
    /// </summary>
    public void AddRam(ulong start, ulong end)
    {
        ulong ramEnd = RamEnd;
        if (start < ramEnd || end <= start || end > Length || ((start | end) & 0xFFF) != 0)
            throw new ArgumentException($"added RAM 0x{start:X}-0x{end:X} must be page aligned, above the RAM end 0x{ramEnd:X} and within the reserved 0x{Length:X}");
        if (start > ramEnd)
        {
            if (HoleStart != ulong.MaxValue) throw new ArgumentException($"added RAM at 0x{start:X} would leave a second hole after 0x{ramEnd:X}");
            // The hole before the RAM end moves: set it first, so no reader ever sees the new RAM without its hole.
            HoleEnd = start;
            HoleStart = ramEnd;
        }
        Volatile.Write(ref _ramEnd, end);
    }

    /// <summary>True when [phys, phys + size) is RAM (below the RAM end and clear of the hole).</summary>
    internal bool IsRam(ulong phys, ulong size) => phys + size <= RamEnd && phys + size >= phys && (phys + size <= HoleStart || phys >= HoleEnd);

    /// <summary>True when the 4 KiB page is RAM.</summary>
    internal bool IsRamPage(ulong ppn) => IsRam(ppn << 12, 4096);
    internal int BitmapWords => (int)((PageCount + 63) / 64);
    /// <summary>One bit per 4 KiB page: decoded code from the page is cached.</summary>
    internal ulong* CodeBits { get; }
    /// <summary>One bit per page: stores must take the slow path (code, or clean under dirty logging).
    /// Native memory so TLB entries can point at their word.</summary>
    internal ulong* WriteTrapBits { get; }
    private readonly ulong* _dirtyBits;
    private volatile bool _logDirty;
    internal CodeCache Code { get; }
    private readonly bool _ownsRam;
    private readonly List<X86Cpu> _cpus = new();
    private readonly Lock _cpusLock = new();

    /// <summary>Wraps caller-owned RAM (e.g. the partition's mmap'ed guest memory).</summary>
    public PhysicalMemory(byte* ram, ulong length) : this(ram, length, false) { }

    /// <summary>Wraps caller-owned RAM of which [0, <paramref name="ramEnd"/>) is RAM now and the rest may be added later (<see cref="AddRam"/>).</summary>
    public PhysicalMemory(byte* ram, ulong length, ulong ramEnd) : this(ram, length, false)
    {
        if (ramEnd > length || (ramEnd & 0xFFF) != 0) throw new ArgumentException($"RAM end 0x{ramEnd:X} must be page aligned within 0x{length:X}", nameof(ramEnd));
        _ramEnd = ramEnd;
    }

    private PhysicalMemory(byte* ram, ulong length, bool owns)
    {
        if ((length & 0xFFF) != 0) throw new ArgumentException("Guest RAM length must be a multiple of 4 KiB.", nameof(length));
        Ram = ram;
        Length = length;
        _ramEnd = length;
        _ownsRam = owns;
        nuint words = (nuint)(BitmapWords + 1);
        CodeBits = (ulong*)NativeMemory.AllocZeroed(words, sizeof(ulong));
        WriteTrapBits = (ulong*)NativeMemory.AllocZeroed(words, sizeof(ulong));
        _dirtyBits = (ulong*)NativeMemory.AllocZeroed(words, sizeof(ulong));
        Code = new CodeCache(this);
    }

    /// <summary>Allocates zeroed RAM owned by this object (tests, benchmarks, small machines).</summary>
    public static PhysicalMemory Allocate(ulong length)
        => new PhysicalMemory((byte*)NativeMemory.AlignedAlloc((nuint)length, 4096), length, true).ZeroAll();

    private PhysicalMemory ZeroAll() { NativeMemory.Clear(Ram, (nuint)Length); return this; }

    public Span<byte> Span(ulong physicalAddress, int length)
    {
        if (physicalAddress > Length || (ulong)length > Length - physicalAddress || !IsRam(physicalAddress, (ulong)length))
            throw new ArgumentOutOfRangeException(nameof(physicalAddress), "Range is outside guest RAM.");
        // Safe: the range was checked against the RAM size just above.
        return new Span<byte>(Ram + physicalAddress, length);
    }

    /// <summary>Writes from outside the CPU (loader, DMA by devices): drops cached code, logs the pages dirty.</summary>
    public void Write(ulong physicalAddress, ReadOnlySpan<byte> data)
    {
        data.CopyTo(Span(physicalAddress, data.Length));
        NotifyWritten(physicalAddress, (ulong)data.Length);
    }

    /// <summary>Tells the memory that [address, address+length) changed behind the CPUs' backs (e.g. a device wrote a span).</summary>
    public void NotifyWritten(ulong physicalAddress, ulong length)
    {
        if (length == 0) return;
        for (ulong p = physicalAddress >> 12; p <= (physicalAddress + length - 1) >> 12 && p < PageCount; p++)
            NoteWrite(p);
    }

    internal bool IsCodePage(ulong ppn) => Test(CodeBits, ppn);
    internal bool IsTrapped(ulong ppn) => Test(WriteTrapBits, ppn);

    private static bool Test(ulong* bits, ulong ppn) => (bits[ppn >> 6] & (1UL << (int)(ppn & 63))) != 0;
    private static void Set(ulong* bits, ulong ppn) => Interlocked.Or(ref bits[ppn >> 6], 1UL << (int)(ppn & 63));
    private static void Clear(ulong* bits, ulong ppn) => Interlocked.And(ref bits[ppn >> 6], ~(1UL << (int)(ppn & 63)));

    /// <summary>The slow-path work of a store to RAM page <paramref name="ppn"/>: invalidate code, log dirty,
    /// and let later stores to the page go fast if nothing else needs to see them.</summary>
    internal void NoteWrite(ulong ppn)
    {
        // Safe (all bitmap accesses): callers pass RAM page numbers, and the bitmaps cover every RAM page.
        if (IsCodePage(ppn)) Code.InvalidatePage(ppn);
        if (_logDirty) Set(_dirtyBits, ppn);
        RecomputeTrap(ppn);
    }

    internal void RecomputeTrap(ulong ppn)
    {
        bool trap = IsCodePage(ppn) || (_logDirty && !Test(_dirtyBits, ppn));
        if (trap) Set(WriteTrapBits, ppn); else if (IsTrapped(ppn)) Clear(WriteTrapBits, ppn);
    }

    /// <summary>Starts logging written pages: every page is clean, so the first store to each one is recorded.</summary>
    public void EnableDirtyLogging()
    {
        for (int w = 0; w < BitmapWords; w++) _dirtyBits[w] = 0;
        _logDirty = true;
        for (int w = 0; w < BitmapWords; w++) Interlocked.Or(ref WriteTrapBits[w], ulong.MaxValue);
        WaitForInstructionBoundaries();
    }

    public void DisableDirtyLogging()
    {
        _logDirty = false;
        for (ulong p = 0; p < PageCount; p++) RecomputeTrap(p);
    }

    /// <summary>
    /// Returns the pages written since the last call (one bit per 4 KiB page in <paramref name="bitmap"/>) and
    /// starts a new round. A store racing with the collection either is in the returned set or in the next
    /// one; every store that started before this returns has completed, so copying the returned pages after
    /// the call captures them (the same contract as KVM's dirty log).
    /// </summary>
    public int CollectDirtyPages(Span<ulong> bitmap)
    {
        if (bitmap.Length < BitmapWords) throw new ArgumentException($"The bitmap needs {BitmapWords} words.", nameof(bitmap));
        int count = 0;
        for (int w = 0; w < BitmapWords; w++)
        {
            ulong d = Interlocked.Exchange(ref _dirtyBits[w], 0);
            if (d != 0) Interlocked.Or(ref WriteTrapBits[w], d); // re-arm: the next store to these pages is logged
            bitmap[w] = d;
            count += System.Numerics.BitOperations.PopCount(d);
        }
        WaitForInstructionBoundaries();
        return count;
    }

    internal void Register(X86Cpu cpu)
    {
        lock (_cpusLock)
        {
            // Decoded blocks are shared by every processor on this memory, with their vendor's handlers in them.
            if (_cpus.Count > 0 && _cpus[0].Vendor != cpu.Vendor)
                throw new ArgumentException($"a processor presenting {cpu.Vendor.VendorString()} cannot share memory with one presenting {_cpus[0].Vendor.VendorString()}", nameof(cpu));
            _cpus.Add(cpu);
        }
    }

    /// <summary>Waits until every running vCPU has passed an instruction-block boundary, so no store that
    /// tested a trap bit before now is still in flight.</summary>
    private void WaitForInstructionBoundaries()
    {
        X86Cpu[] cpus;
        lock (_cpusLock) cpus = _cpus.ToArray();
        foreach (var c in cpus)
        {
            if (c.RunThreadId == Environment.CurrentManagedThreadId) continue; // called from this vCPU's own I/O handler
            long start = c.BoundaryEpoch;
            var spin = new SpinWait();
            while (c.IsRunning && c.BoundaryEpoch == start) spin.SpinOnce();
        }
    }

    public void Dispose()
    {
        NativeMemory.Free(CodeBits);
        NativeMemory.Free(WriteTrapBits);
        NativeMemory.Free(_dirtyBits);
        if (_ownsRam) NativeMemory.AlignedFree(Ram);
    }
}
