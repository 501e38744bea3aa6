using System.Buffers.Binary;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>One write a log entry asks for: 4 KiB of data, or a run of zeros.</summary>
internal readonly record struct LogWrite(long FileOffset, byte[]? Data, long ZeroLength);

/// <summary>The active log sequence (MS-VHDX 2.3.3): what to replay, and the file sizes its head entry records.</summary>
internal sealed record ActiveSequence(List<LogWrite> Writes, long FlushedFileOffset, long LastFileOffset, ulong HeadSequence, int EntryCount);

/// <summary>
/// The read side of the VHDX log: finds the newest valid, complete log sequence in a log region,
/// validating every field a hostile or torn log could get wrong (reads wrap around the circular log),
/// and replays it into the file or a read-only open's overlay. <see cref="VhdxLog"/> is the write side.
/// </summary>
internal static class LogReplay
{
    private const int Sector = VhdxFormat.LogSectorSize;
    private const uint MaxReplayLogLength = 1024 * (uint)VhdxFormat.MiB;

    private sealed record Entry(uint Offset, uint Length, uint Tail, ulong Sequence, long Flushed, long Last, List<LogWrite> Writes);

    /// <summary>Returns the active sequence, or null when the log holds no valid sequence (an error text says why).</summary>
    public static ActiveSequence? FindActive(byte[] log, Guid logGuid, out string? error)
    {
        error = null;
        uint size = (uint)log.Length;
        // A hostile log can make every sector start a plausible entry that fails only its checksum, so a
        // naive scan checksums (size / 4 KiB) x (entry length) bytes. Valid logs need about one pass.
        long budget = 256 * VhdxFormat.MiB + 4L * size;
        ActiveSequence? candidate = null;
        ulong candidateSeq = 0;
        uint currentTail = 0, oldTail = 0;
        while (true)
        {
            var sequence = new List<Entry>();
            uint head = currentTail;
            while (sequence.Count < size / Sector)
            {
                var e = TryReadEntry(log, head, logGuid, ref budget);
                if (budget < 0)
                {
                    error = $"checking its entries would take more than {256 * VhdxFormat.MiB + 4L * size} bytes of checksumming (a log full of entries that fail their checksums)";
                    return null;
                }
                if (e is null || (sequence.Count > 0 && e.Sequence != sequence[^1].Sequence + 1)) break;
                sequence.Add(e);
                head = (uint)((head + (ulong)e.Length) % size);
            }
            bool valid = false;
            if (sequence.Count > 0)
            {
                var last = sequence[^1];
                int tailIndex = sequence.FindIndex(e => e.Offset == last.Tail);
                if (tailIndex >= 0)
                {
                    valid = true;
                    if (last.Sequence > candidateSeq)
                    {
                        candidateSeq = last.Sequence;
                        var writes = new List<LogWrite>();
                        for (int i = tailIndex; i < sequence.Count; i++) writes.AddRange(sequence[i].Writes);
                        candidate = new ActiveSequence(writes, last.Flushed, last.Last, last.Sequence, sequence.Count - tailIndex);
                    }
                }
            }
            currentTail = valid ? head % size : (currentTail + Sector) % size;
            // Once the tail wraps (or stops moving) the whole ring has been scanned.
            if (currentTail <= oldTail) break;
            oldTail = currentTail;
        }
        if (candidate is null) error = "no valid log sequence carries the header's LogGuid";
        return candidate;
    }

    private static Entry? TryReadEntry(byte[] log, uint offset, Guid logGuid, ref long budget)
    {
        uint size = (uint)log.Length;
        Span<byte> first = stackalloc byte[Sector];
        Copy(log, offset, first);
        if (BinaryPrimitives.ReadUInt32LittleEndian(first) != VhdxFormat.LogEntrySignature) return null;
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(first[8..]);
        uint tail = BinaryPrimitives.ReadUInt32LittleEndian(first[12..]);
        ulong seq = BinaryPrimitives.ReadUInt64LittleEndian(first[16..]);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(first[24..]);
        if (length == 0 || length % Sector != 0 || length > size || tail % Sector != 0 || tail >= size || seq == 0) return null;
        if (new Guid(first.Slice(32, 16)) != logGuid) return null;
        long flushed = (long)BinaryPrimitives.ReadUInt64LittleEndian(first[48..]);
        long last = (long)BinaryPrimitives.ReadUInt64LittleEndian(first[56..]);
        if (flushed < 0 || last < 0 || flushed % VhdxFormat.MiB != 0 || last % VhdxFormat.MiB != 0) return null;
        long descSectors = (64 + 32L * count + Sector - 1) / Sector;
        if (descSectors * Sector > length) return null;
        if ((budget -= length) < 0) return null;
        var entry = new byte[length];
        Copy(log, offset, entry);
        if (!Crc32C.Verify(entry, 4)) return null;
        var writes = new List<LogWrite>((int)Math.Min(count, 4096));
        long dataSector = descSectors;
        for (int i = 0; i < count; i++)
        {
            var d = entry.AsSpan(64 + i * 32, 32);
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(d);
            long fileOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(d[16..]);
            if (BinaryPrimitives.ReadUInt64LittleEndian(d[24..]) != seq || fileOffset < 0 || fileOffset % Sector != 0) return null;
            if (sig == VhdxFormat.ZeroDescriptorSignature)
            {
                long zeroLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(d[8..]);
                if (zeroLength < 0 || zeroLength % Sector != 0) return null;
                writes.Add(new LogWrite(fileOffset, null, zeroLength));
            }
            else if (sig == VhdxFormat.DataDescriptorSignature)
            {
                if ((dataSector + 1) * Sector > length) return null;
                var s = entry.AsSpan((int)(dataSector * Sector), Sector);
                if (BinaryPrimitives.ReadUInt32LittleEndian(s) != VhdxFormat.DataSectorSignature
                    || BinaryPrimitives.ReadUInt32LittleEndian(s[4..]) != (uint)(seq >> 32)
                    || BinaryPrimitives.ReadUInt32LittleEndian(s[(Sector - 4)..]) != (uint)seq) return null;
                var data = new byte[Sector];
                d.Slice(8, 8).CopyTo(data);
                s[8..(Sector - 4)].CopyTo(data.AsSpan(8));
                d.Slice(4, 4).CopyTo(data.AsSpan(Sector - 4));
                writes.Add(new LogWrite(fileOffset, data, 0));
                dataSector++;
            }
            else return null;
        }
        return new Entry(offset, length, tail, seq, flushed, last, writes);
    }

    private static void Copy(byte[] log, uint offset, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int pos = (int)((offset + (ulong)done) % (ulong)log.Length);
            int n = Math.Min(destination.Length - done, log.Length - pos);
            log.AsSpan(pos, n).CopyTo(destination[done..]);
            done += n;
        }
    }

    /// <summary>
    /// Replays the active log sequence: into the file (after updating FileWriteGuid, then clearing
    /// LogGuid), or, for a read-only open, into an in-memory overlay so the file is never written.
    /// </summary>
    public static (VhdxHeader Header, int Slot) Replay(VhdxStorage storage, VhdxHeader header, int slot)
    {
        if (header.LogLength > MaxReplayLogLength)
            throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset,
                $"the log to replay is {header.LogLength} bytes, more than the {MaxReplayLogLength >> 20} MiB this implementation accepts");
        var log = new byte[header.LogLength];
        storage.ReadData((long)header.LogOffset, log);
        var active = FindActive(log, header.LogGuid, out var error)
            ?? throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset, $"the header names log {header.LogGuid:B} but {error}");
        long fileLength = storage.Length;
        if (fileLength < active.FlushedFileOffset)
            throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset,
                $"the log's head entry records a flushed file size of {active.FlushedFileOffset} bytes but the file has {fileLength}: the file was truncated");
        long limit = Math.Max(fileLength, active.LastFileOffset);
        if (active.LastFileOffset > VhdxFormat.MaxVirtualDiskSize * 2)
            throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset, $"the head entry's last file offset {active.LastFileOffset} is absurd");
        long zeroTotal = 0;
        foreach (var w in active.Writes)
        {
            long length = w.Data?.Length ?? w.ZeroLength;
            bool inRegionTables = w.FileOffset >= VhdxFormat.RegionTable1Offset && w.FileOffset + length <= VhdxFormat.RegionTable2Offset + VhdxFormat.RegionTableSize;
            bool inLog = w.FileOffset < (long)header.LogOffset + header.LogLength && (long)header.LogOffset < w.FileOffset + length;
            if ((!inRegionTables && w.FileOffset < VhdxFormat.HeaderSectionSize) || inLog || w.FileOffset + length > limit)
                throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset,
                    $"a log descriptor writes {length} bytes at 0x{w.FileOffset:X}, outside the structures a log may update");
            zeroTotal += w.ZeroLength;
        }
        if (storage.ReadOnly)
        {
            if (zeroTotal > 256 * VhdxFormat.MiB)
                throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset, $"the log zeroes {zeroTotal} bytes, too much to replay in memory; open the image writable to replay it");
            storage.ApplyToOverlay(active.Writes);
            return (header, slot);
        }
        // Writable: FileWriteGuid changes before the first modification, the log replays, then LogGuid is cleared.
        var writer = new HeaderWriter(storage, header, slot);
        writer.Update(h => h with { FileWriteGuid = Guid.NewGuid() });
        foreach (var w in active.Writes)
        {
            if (w.Data is not null) storage.Write(w.FileOffset, w.Data);
            else
            {
                // Zeros past the end of the file need no writing (extending reads as zeros); inside it, punch
                // (written only where the file system cannot): a hostile terabyte of zeros must not mean a terabyte of writes.
                long inFile = Math.Min(w.ZeroLength, Math.Max(0, storage.Length - w.FileOffset));
                if (inFile > 0) HostFile.Zero(storage.Handle, w.FileOffset, inFile, keepAllocated: false);
            }
        }
        if (storage.Length < active.LastFileOffset)
        {
            try { storage.SetLength(active.LastFileOffset); }
            catch (Exception e) when (e is IOException or ArgumentOutOfRangeException) // EFBIG surfaces as either
            {
                throw new CorruptImageException(storage.Path, "log", (long)header.LogOffset,
                    $"replaying the log needs the file extended to {active.LastFileOffset} bytes (its last file offset), which failed: {e.Message}");
            }
        }
        storage.Flush();
        writer.Update(h => h with { LogGuid = Guid.Empty });
        return (writer.Current, writer.Slot);
    }
}
