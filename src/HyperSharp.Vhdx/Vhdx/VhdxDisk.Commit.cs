using System.Runtime.InteropServices;

namespace HyperSharp.Vhdx.Vhdx;

public sealed partial class VhdxDisk
{
    private readonly HeaderWriter _headers;
    private bool _sessionWrote;          // FileWriteGuid renewed this session
    private bool _dataGuidRenewed;       // DataWriteGuid renewed this session
    private Guid _logGuid;               // LogGuid of this session's entries (empty until the first commit)
    private ulong _logSequence;
    private long _logHead;               // offset inside the log where the next entry goes
    private long _durableFileSize;       // file size known to be stable (FlushedFileOffset)
    private bool _appliedNotDurable;     // metadata applied in place since the last flush
    private long _previousEntryStart;    // where the newest entry starts, so a wrap does not overwrite it

    /// <summary>
    /// Renews FileWriteGuid before the first change to the file in this session and DataWriteGuid
    /// before the first change a reader could see (MS-VHDX 2.2.2). Cheap after the first call.
    /// </summary>
    private void EnsureModifiable(bool userVisible)
    {
        if (_sessionWrote && (_dataGuidRenewed || !userVisible)) return;
        lock (_flushLock)
        {
            if (_sessionWrote && (_dataGuidRenewed || !userVisible)) return;
            var fileGuid = _sessionWrote ? _headers.Current.FileWriteGuid : Guid.NewGuid();
            var dataGuid = userVisible && !_dataGuidRenewed ? Guid.NewGuid() : _headers.Current.DataWriteGuid;
            _headers.Update(h => h with { FileWriteGuid = fileGuid, DataWriteGuid = dataGuid });
            _sessionWrote = true;
            if (userVisible) _dataGuidRenewed = true;
        }
    }

    public void Flush()
    {
        ThrowIfDisposed();
        if (IsReadOnly) return;
        lock (_flushLock)
        {
            var pages = TakeDirtyPages();
            // Data (and metadata applied by earlier commits) must be stable before a log entry
            // that may point at it; the log entry then needs no earlier entry as its tail.
            _storage.Flush();
            _appliedNotDurable = false;
            if (pages.Count > 0)
            {
                try { CommitPages(pages); }
                catch { RestoreDirtyPages(pages); throw; }
            }
        }
    }

    /// <summary>Copies every dirty metadata sector (BAT, sector bitmaps, other metadata) and clears the dirty sets.</summary>
    private List<LogPage> TakeDirtyPages()
    {
        var pages = new List<LogPage>();
        lock (_metaLock)
        {
            var batBytes = MemoryMarshal.AsBytes(_bat.AsSpan());
            foreach (long page in _dirtyBatPages.Order())
            {
                var data = new byte[VhdxFormat.LogSectorSize];
                batBytes.Slice((int)(page * VhdxFormat.LogSectorSize), VhdxFormat.LogSectorSize).CopyTo(data);
                pages.Add(new LogPage(_image.BatRegion.FileOffset + page * VhdxFormat.LogSectorSize, data));
            }
            foreach (long offset in _dirtyBitmapPages.Order())
                pages.Add(new LogPage(offset, (byte[])_bitmapPages[offset].Clone()));
            foreach (var (offset, data) in _dirtyRawPages.OrderBy(p => p.Key))
                pages.Add(new LogPage(offset, data));
            _dirtyBatPages.Clear();
            _dirtyBitmapPages.Clear();
            _dirtyRawPages.Clear();
        }
        return pages;
    }

    private void RestoreDirtyPages(List<LogPage> pages)
    {
        lock (_metaLock)
        {
            long batStart = _image.BatRegion.FileOffset, batEnd = batStart + _image.BatRegion.Length;
            foreach (var p in pages)
            {
                if (p.FileOffset >= batStart && p.FileOffset < batEnd) _dirtyBatPages.Add((p.FileOffset - batStart) / VhdxFormat.LogSectorSize);
                else if (_bitmapPages.ContainsKey(p.FileOffset)) _dirtyBitmapPages.Add(p.FileOffset);
                else _dirtyRawPages.TryAdd(p.FileOffset, p.Data);
            }
        }
    }

    /// <summary>
    /// Writes pages through the log: entry written and flushed, then applied in place. Large sets
    /// go in several entries, each applied and made stable before the next is written.
    /// Caller holds <see cref="_flushLock"/>.
    /// </summary>
    private void CommitPages(List<LogPage> pages)
    {
        long logLength = _headers.Current.LogLength;
        int maxPages = MaxPagesPerEntry(logLength);
        for (int start = 0; start < pages.Count || (pages.Count == 0 && start == 0); start += maxPages)
        {
            var batch = pages.GetRange(start, Math.Min(maxPages, pages.Count - start));
            WriteEntryAndApply(batch);
            if (pages.Count == 0) break;
        }
    }

    /// <summary>Entries stay within half the log, so a new entry never overwrites the previous one.</summary>
    private static int MaxPagesPerEntry(long logLength)
    {
        int sectors = (int)(logLength / 2 / VhdxFormat.LogSectorSize);
        int pages = sectors - 1;
        while (pages > 1 && LogEntryBuilder.EntryLength(pages) > logLength / 2) pages--;
        return Math.Max(1, pages);
    }

    private void WriteEntryAndApply(List<LogPage> batch)
    {
        EnsureModifiable(false);
        if (_appliedNotDurable) { _storage.Flush(); _appliedNotDurable = false; }
        int length = LogEntryBuilder.EntryLength(batch.Count);
        if (_logHead + length > _headers.Current.LogLength)
        {
            // Wrapping onto the previous entry would leave no valid sequence if this write tore:
            // everything applied is stable now, so start a fresh log instead.
            if (_headers.Current.LogGuid != Guid.Empty && length > _previousEntryStart)
                _headers.Update(h => h with { LogGuid = Guid.Empty });
            _logHead = 0;
        }
        var header = _headers.Current;
        bool newLog = header.LogGuid == Guid.Empty;
        if (newLog) { _logGuid = Guid.NewGuid(); _logHead = 0; }
        else if (_logGuid == Guid.Empty) _logGuid = header.LogGuid;
        long lastFileOffset = VhdxFormat.RoundUp(Math.Max(_fileEnd, _storage.Length), VhdxFormat.MiB);
        var entry = LogEntryBuilder.Build(_logGuid, ++_logSequence, (uint)_logHead, _durableFileSize, lastFileOffset, batch);
        _storage.Write((long)header.LogOffset + _logHead, entry);
        _storage.Flush();
        // Entries are written before the header names their LogGuid, so a crash in between leaves an empty log.
        if (newLog) _headers.Update(h => h with { LogGuid = _logGuid });
        _previousEntryStart = _logHead;
        _logHead += length;
        foreach (var page in batch) _storage.Write(page.FileOffset, page.Data);
        _appliedNotDurable = true;
    }

    /// <summary>On close: commit what is dirty, make it stable, and mark the log empty so any reader opens the file as is.</summary>
    private void CloseCleanly()
    {
        Flush();
        lock (_flushLock)
        {
            _storage.Flush();
            if (_headers.Current.LogGuid != Guid.Empty) _headers.Update(h => h with { LogGuid = Guid.Empty });
        }
    }

    /// <summary>Records that the file shrank: an empty log entry carries the new stable size before the file is cut.</summary>
    private void CommitFileShrink(long newLength)
    {
        _storage.Flush();
        _appliedNotDurable = false;
        _durableFileSize = Math.Min(_durableFileSize, newLength / VhdxFormat.MiB * VhdxFormat.MiB);
        if (_headers.Current.LogGuid != Guid.Empty) CommitPages([]);
        _storage.SetLength(newLength);
        _storage.Flush();
    }

    private void MarkBatDirty(long index) => _dirtyBatPages.Add(index * 8 / VhdxFormat.LogSectorSize);

    /// <summary>Replaces bytes inside the metadata region (through the log at the next commit).</summary>
    private void WriteMetadataBytes(long regionOffset, ReadOnlySpan<byte> bytes)
    {
        long fileOffset = _image.MetadataRegion.FileOffset + regionOffset;
        for (long page = fileOffset / VhdxFormat.LogSectorSize * VhdxFormat.LogSectorSize; page < fileOffset + bytes.Length; page += VhdxFormat.LogSectorSize)
        {
            if (!_dirtyRawPages.TryGetValue(page, out var data))
            {
                data = new byte[VhdxFormat.LogSectorSize];
                _storage.ReadMetadata(page, data);
                _dirtyRawPages[page] = data;
            }
            long from = Math.Max(page, fileOffset), to = Math.Min(page + VhdxFormat.LogSectorSize, fileOffset + bytes.Length);
            bytes.Slice((int)(from - fileOffset), (int)(to - from)).CopyTo(data.AsSpan((int)(from - page)));
        }
    }
}
