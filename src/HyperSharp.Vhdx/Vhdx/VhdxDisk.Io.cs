namespace HyperSharp.Vhdx.Vhdx;

public sealed partial class VhdxDisk
{
    // Delegates made once: a method group converted per call would allocate on every I/O.
    private SectorAlignedIo.AlignedRead? _readAligned;
    private SectorAlignedIo.AlignedWrite? _writeAligned;
    private SectorAlignedIo.AlignedRead ReadAlignedDelegate => _readAligned ??= ReadAligned;
    private SectorAlignedIo.AlignedWrite WriteAlignedDelegate => _writeAligned ??= WriteAligned;

    public void Read(long offset, Span<byte> buffer)
    {
        ThrowIfDisposed();
        DiskRange.Check(this, offset, buffer.Length);
        if (SectorAlignedIo.IsAligned(offset, buffer.Length, _geometry.LogicalSectorSize)) ReadAligned(offset, buffer);
        else SectorAlignedIo.Read(offset, buffer, LogicalSectorSize, ReadAlignedDelegate);
    }

    public void Write(long offset, ReadOnlySpan<byte> buffer)
    {
        ThrowIfDisposed();
        DiskRange.CheckWritable(this, offset, buffer.Length);
        if (buffer.IsEmpty) return;
        EnsureModifiable(true);
        if (SectorAlignedIo.IsAligned(offset, buffer.Length, _geometry.LogicalSectorSize)) WriteAligned(offset, buffer);
        else SectorAlignedIo.Write(offset, buffer, LogicalSectorSize, ReadAlignedDelegate, WriteAlignedDelegate);
    }

    private void ReadAligned(long offset, Span<byte> buffer)
    {
        var g = Volatile.Read(ref _geometry);
        var bat = Volatile.Read(ref _bat);
        while (buffer.Length > 0)
        {
            long block = offset / g.BlockSize;
            int inBlock = (int)(offset % g.BlockSize);
            int n = Math.Min(buffer.Length, g.BlockSize - inBlock);
            ulong entry = Volatile.Read(ref bat[g.PayloadIndex(block)]);
            var chunk = buffer[..n];
            switch (BatEntry.State(entry))
            {
                case BlockState.FullyPresent:
                    _storage.ReadData(BatEntry.FileOffset(entry) + inBlock, chunk);
                    break;
                case BlockState.PartiallyPresent:
                    ReadPartialBlock(g, block, BatEntry.FileOffset(entry), offset, inBlock, chunk);
                    break;
                case BlockState.NotPresent when g.HasParent:
                    ReadParent(offset, chunk);
                    break;
                default: // not present in a dynamic disk, zero, unmapped, undefined: zeros
                    chunk.Clear();
                    break;
            }
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>Reads a partially present block run by run: sectors whose bitmap bit is set come from this file, the rest from the parent.</summary>
    private void ReadPartialBlock(VhdxGeometry g, long block, long blockFileOffset, long offset, int inBlock, Span<byte> chunk)
    {
        int sector = g.LogicalSectorSize;
        int first = inBlock / sector, count = chunk.Length / sector;
        int i = 0;
        while (i < count)
        {
            bool present = GetBitmapBit(g, block, first + i);
            int run = 1;
            while (i + run < count && GetBitmapBit(g, block, first + i + run) == present) run++;
            var part = chunk.Slice(i * sector, run * sector);
            if (present) _storage.ReadData(blockFileOffset + (long)(first + i) * sector, part);
            else ReadParent(offset + (long)i * sector, part);
            i += run;
        }
    }

    private void ReadParent(long offset, Span<byte> buffer)
    {
        var parent = Parent;
        long parentCapacity = parent?.Capacity ?? 0;
        if (parent is null || offset >= parentCapacity) { buffer.Clear(); return; }
        int inParent = (int)Math.Min(buffer.Length, parentCapacity - offset);
        parent.Read(offset, buffer[..inParent]);
        buffer[inParent..].Clear(); // a child grown past its parent reads zeros there
    }

    private void WriteAligned(long offset, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var g = Volatile.Read(ref _geometry);
            long block = offset / g.BlockSize;
            int inBlock = (int)(offset % g.BlockSize);
            int n = Math.Min(data.Length, g.BlockSize - inBlock);
            var chunk = data[..n];
            ulong entry = Volatile.Read(ref Volatile.Read(ref _bat)[g.PayloadIndex(block)]);
            var state = BatEntry.State(entry);
            if (!BatEntry.HasData(state)) entry = AllocateBlock(g, block, out state);
            _storage.Write(BatEntry.FileOffset(entry) + inBlock, chunk);
            if (state == BlockState.PartiallyPresent) SetBitmapBits(g, block, inBlock / g.LogicalSectorSize, n / g.LogicalSectorSize, true);
            data = data[n..];
            offset += n;
        }
    }

    /// <summary>
    /// Gives a block file space (at the end of the file, or its own punched space when it was
    /// unmapped) and publishes its BAT entry. Blocks that read as zeros become fully present over
    /// zero-filled space; a differencing block that reads from the parent becomes partially present.
    /// </summary>
    private ulong AllocateBlock(VhdxGeometry g, long block, out BlockState state)
    {
        lock (_metaLock)
        {
            var bat = _bat;
            long index = g.PayloadIndex(block);
            ulong entry = bat[index];
            state = BatEntry.State(entry);
            if (BatEntry.HasData(state)) return entry; // another thread allocated it first
            var newState = g.HasParent && state == BlockState.NotPresent ? BlockState.PartiallyPresent : BlockState.FullyPresent;
            if (newState == BlockState.PartiallyPresent) EnsureBitmapBlock(g, block / g.ChunkRatio);
            long fileOffset = BatEntry.FileOffset(entry);
            bool reuse = state == BlockState.Unmapped && fileOffset >= VhdxFormat.HeaderSectionSize
                && fileOffset + g.BlockSize <= _fileEnd && HostFile.PunchHole(_storage.Handle, fileOffset, g.BlockSize);
            if (!reuse) fileOffset = ReserveSpace(g.BlockSize);
            entry = BatEntry.Make(newState, fileOffset);
            Volatile.Write(ref bat[index], entry);
            MarkBatDirty(index);
            state = newState;
            return entry;
        }
    }

    /// <summary>Extends the file by <paramref name="size"/> bytes of zeros at the 1 MiB-aligned end. Caller holds the metadata lock.</summary>
    private long ReserveSpace(long size)
    {
        long offset = _fileEnd;
        _fileEnd = offset + VhdxFormat.RoundUp(size, VhdxFormat.MiB);
        _storage.SetLength(_fileEnd);
        return offset;
    }

    /// <summary>Allocates the sector bitmap block of a chunk if it has none. Caller holds the metadata lock.</summary>
    private void EnsureBitmapBlock(VhdxGeometry g, long chunk)
    {
        long index = g.BitmapIndex(chunk);
        if (BatEntry.State(_bat[index]) == BlockState.FullyPresent) return;
        long offset = ReserveSpace(VhdxFormat.SectorBitmapBlockSize);
        for (long p = 0; p < VhdxFormat.SectorBitmapBlockSize; p += VhdxFormat.LogSectorSize)
            _bitmapPages[offset + p] = new byte[VhdxFormat.LogSectorSize]; // new space reads as zeros
        Volatile.Write(ref _bat[index], BatEntry.Make(BlockState.FullyPresent, offset));
        MarkBatDirty(index);
    }

    /// <summary>File offset of the 4 KiB bitmap page and the bit index inside it for one sector of a block.</summary>
    private (long PageOffset, int Bit) BitmapLocation(VhdxGeometry g, long block, int sectorInBlock)
    {
        long chunk = block / g.ChunkRatio;
        long bit = (block % g.ChunkRatio) * g.SectorsPerBlock + sectorInBlock;
        long bitmapOffset = BatEntry.FileOffset(Volatile.Read(ref _bat[g.BitmapIndex(chunk)]));
        const long bitsPerPage = VhdxFormat.LogSectorSize * 8;
        return (bitmapOffset + bit / bitsPerPage * VhdxFormat.LogSectorSize, (int)(bit % bitsPerPage));
    }

    private byte[] BitmapPage(long pageOffset)
    {
        if (_bitmapPages.TryGetValue(pageOffset, out var page)) return page;
        var loaded = new byte[VhdxFormat.LogSectorSize];
        _storage.ReadMetadata(pageOffset, loaded);
        return _bitmapPages.GetOrAdd(pageOffset, loaded);
    }

    private bool GetBitmapBit(VhdxGeometry g, long block, int sectorInBlock)
    {
        var (page, bit) = BitmapLocation(g, block, sectorInBlock);
        return (Volatile.Read(ref BitmapPage(page)[bit >> 3]) & (1 << (bit & 7))) != 0;
    }

    private void SetBitmapBits(VhdxGeometry g, long block, int firstSector, int count, bool value)
    {
        lock (_metaLock)
        {
            for (int i = 0; i < count;)
            {
                var (pageOffset, bit) = BitmapLocation(g, block, firstSector + i);
                var page = BitmapPage(pageOffset);
                int inPage = Math.Min(count - i, VhdxFormat.LogSectorSize * 8 - bit);
                for (int b = bit; b < bit + inPage; b++)
                {
                    if (value) page[b >> 3] |= (byte)(1 << (b & 7));
                    else page[b >> 3] &= (byte)~(1 << (b & 7));
                }
                _dirtyBitmapPages.Add(pageOffset);
                i += inPage;
            }
        }
    }
}
