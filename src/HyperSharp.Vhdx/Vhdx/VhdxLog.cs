namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// The write side of a VHDX's metadata log (MS-VHDX 2.3) and its write session: renews FileWriteGuid and
/// DataWriteGuid before the first change of a session (2.2.2), writes each commit of metadata pages as log
/// entries — written and flushed, then applied in place — and empties the log on a clean close.
/// <see cref="LogReplay"/> is the read side. One commit at a time, under <see cref="Lock"/>.
/// </summary>
internal sealed class VhdxLog(VhdxStorage storage, HeaderWriter headers, long durableFileSize)
{
    private bool _dataGuidRenewed;       // DataWriteGuid renewed this session
    private Guid _logGuid;               // LogGuid of this session's entries (empty until the first commit)
    private ulong _logSequence;
    private long _logHead;               // offset inside the log where the next entry goes
    private long _durableFileSize = durableFileSize; // file size known to be stable (FlushedFileOffset)
    private bool _appliedNotDurable;     // metadata applied in place since the last flush
    private long _previousEntryStart;    // where the newest entry starts, so a wrap does not overwrite it

    /// <summary>The flush lock: commits, header updates and the disk's resize and compaction hold it.</summary>
    public object Lock { get; } = new();

    public HeaderWriter Headers => headers;

    /// <summary>FileWriteGuid was renewed this session: the file has been (or is about to be) changed.</summary>
    public bool SessionWrote { get; private set; }

    /// <summary>
    /// Renews FileWriteGuid before the first change to the file in this session and DataWriteGuid
    /// before the first change a reader could see (MS-VHDX 2.2.2). Cheap after the first call.
    /// </summary>
    public void EnsureModifiable(bool userVisible)
    {
        if (SessionWrote && (_dataGuidRenewed || !userVisible)) return;
        lock (Lock)
        {
            if (SessionWrote && (_dataGuidRenewed || !userVisible)) return;
            var fileGuid = SessionWrote ? headers.Current.FileWriteGuid : Guid.NewGuid();
            var dataGuid = userVisible && !_dataGuidRenewed ? Guid.NewGuid() : headers.Current.DataWriteGuid;
            headers.Update(h => h with { FileWriteGuid = fileGuid, DataWriteGuid = dataGuid });
            SessionWrote = true;
            if (userVisible) _dataGuidRenewed = true;
        }
    }

    /// <summary>The file was just flushed: what earlier commits applied in place is stable. Caller holds the lock.</summary>
    public void AppliedIsDurable() => _appliedNotDurable = false;

    /// <summary>
    /// Writes pages through the log: entry written and flushed, then applied in place. Large sets
    /// go in several entries, each applied and made stable before the next is written.
    /// <paramref name="fileEnd"/> is where the disk allocates next (the entry records it). Caller holds the lock.
    /// </summary>
    public void Commit(List<LogPage> pages, long fileEnd)
    {
        long logLength = headers.Current.LogLength;
        int maxPages = MaxPagesPerEntry(logLength);
        for (int start = 0; start < pages.Count || (pages.Count == 0 && start == 0); start += maxPages)
        {
            var batch = pages.GetRange(start, Math.Min(maxPages, pages.Count - start));
            WriteEntryAndApply(batch, fileEnd);
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

    private void WriteEntryAndApply(List<LogPage> batch, long fileEnd)
    {
        EnsureModifiable(false);
        if (_appliedNotDurable) { storage.Flush(); _appliedNotDurable = false; }
        int length = LogEntryBuilder.EntryLength(batch.Count);
        if (_logHead + length > headers.Current.LogLength)
        {
            // Wrapping onto the previous entry would leave no valid sequence if this write tore:
            // everything applied is stable now, so start a fresh log instead.
            if (headers.Current.LogGuid != Guid.Empty && length > _previousEntryStart)
                headers.Update(h => h with { LogGuid = Guid.Empty });
            _logHead = 0;
        }
        var header = headers.Current;
        bool newLog = header.LogGuid == Guid.Empty;
        if (newLog) { _logGuid = Guid.NewGuid(); _logHead = 0; }
        else if (_logGuid == Guid.Empty) _logGuid = header.LogGuid;
        long lastFileOffset = VhdxFormat.RoundUp(Math.Max(fileEnd, storage.Length), VhdxFormat.MiB);
        var entry = LogEntryBuilder.Build(_logGuid, ++_logSequence, (uint)_logHead, _durableFileSize, lastFileOffset, batch);
        storage.Write((long)header.LogOffset + _logHead, entry);
        storage.Flush();
        // Entries are written before the header names their LogGuid, so a crash in between leaves an empty log.
        if (newLog) headers.Update(h => h with { LogGuid = _logGuid });
        _previousEntryStart = _logHead;
        _logHead += length;
        foreach (var page in batch) storage.Write(page.FileOffset, page.Data);
        _appliedNotDurable = true;
    }

    /// <summary>After the last commit of a clean close: make it stable and mark the log empty, so any reader opens the file as is.</summary>
    public void Close()
    {
        lock (Lock)
        {
            storage.Flush();
            if (headers.Current.LogGuid != Guid.Empty) headers.Update(h => h with { LogGuid = Guid.Empty });
        }
    }

    /// <summary>Records that the file shrank: an empty log entry carries the new stable size before the file is cut. Caller holds the lock.</summary>
    public void CommitFileShrink(long newLength, long fileEnd)
    {
        storage.Flush();
        _appliedNotDurable = false;
        _durableFileSize = Math.Min(_durableFileSize, newLength / VhdxFormat.MiB * VhdxFormat.MiB);
        if (headers.Current.LogGuid != Guid.Empty) Commit([], fileEnd);
        storage.SetLength(newLength);
        storage.Flush();
    }
}
