using HyperSharp.Hypervisor.Emulated.Memory;

namespace HyperSharp.Hypervisor.Emulated.Decoding;

/// <summary>
/// Decoded blocks of one partition, keyed by guest-physical address and decode mode, grouped per
/// 4 KiB page for invalidation. Shared by all vCPUs; each vCPU keeps its own lock-free virtual-address
/// lookup in front of it, so this lock is taken only on a miss, a decode or an invalidation.
/// </summary>
/// <remarks>
/// Self-modifying code: a block's page gets its bits in <see cref="PhysicalMemory.CodeBits"/> and the write-trap map before the
/// bytes are read, so a concurrent write either lands before the decode (and is decoded) or sees the bit
/// and invalidates. Invalidation marks blocks invalid and, for a block being executed right now, rewrites
/// its remaining handlers to "leave the block", so the instruction after the store is decoded afresh.
/// </remarks>
internal sealed unsafe class CodeCache
{
    private readonly PhysicalMemory _memory;
    private readonly Dictionary<ulong, CodeBlock> _blocks = new();
    private readonly Dictionary<ulong, List<CodeBlock>> _byPage = new();
    private readonly Lock _lock = new();
    /// <summary>Incremented by every invalidation; vCPUs compare it to drop their lookup caches lazily.</summary>
    public int Generation;

    public CodeCache(PhysicalMemory memory) => _memory = memory;

    public CodeBlock? Find(ulong physicalAddress, int bitness)
    {
        lock (_lock)
            return _blocks.TryGetValue(CodeBlock.Key(physicalAddress, bitness), out var b) ? b : null;
    }

    /// <summary>Marks the page as holding code before its bytes are decoded (see remarks on the class).</summary>
    public void MarkCodePage(ulong ppn)
    {
        ulong bit = 1UL << (int)(ppn & 63);
        if ((_memory.CodeBits[ppn >> 6] & bit) == 0)
        {
            // Safe: ppn is a RAM page, inside both bitmaps; atomic so two vCPUs don't lose bits.
            Interlocked.Or(ref _memory.CodeBits[ppn >> 6], bit);
            Interlocked.Or(ref _memory.WriteTrapBits[ppn >> 6], bit); // stores to the page now take the slow path
        }
    }

    public void Add(CodeBlock block)
    {
        ulong ppn = block.PhysicalAddress >> 12;
        lock (_lock)
        {
            // The page may have been invalidated between MarkCodePage and now: then the block may be stale.
            if (!_memory.IsCodePage(ppn)) { block.Valid = false; return; }
            _blocks[CodeBlock.Key(block.PhysicalAddress, block.Bitness)] = block;
            if (!_byPage.TryGetValue(ppn, out var list)) _byPage[ppn] = list = new List<CodeBlock>();
            list.Add(block);
        }
    }

    /// <summary>Drops every block decoded from the page and clears its code bit.</summary>
    public void InvalidatePage(ulong ppn)
    {
        lock (_lock)
        {
            // Safe: ppn is a RAM page number (callers check), inside the bitmap.
            Interlocked.And(ref _memory.CodeBits[ppn >> 6], ~(1UL << (int)(ppn & 63)));
            _memory.RecomputeTrap(ppn);
            if (!_byPage.Remove(ppn, out var list)) return;
            foreach (var b in list)
            {
                b.Valid = false;
                _blocks.Remove(CodeBlock.Key(b.PhysicalAddress, b.Bitness));
                Execution.BlockLookup.PoisonBlock(b);
            }
            Interlocked.Increment(ref Generation);
        }
    }

    public int Count { get { lock (_lock) return _blocks.Count; } }
}
