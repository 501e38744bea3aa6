namespace HyperSharp.Machine.Virtio.Balloon;

/// <summary>
/// Turns a driver's list of 4 KiB page numbers into runs of consecutive pages, so pages given back cost one host call
/// per run instead of one per page (Linux hands its balloon pages over in batches of 256, mostly adjacent).
/// </summary>
internal static class PageRuns
{
    /// <summary>Sorts <paramref name="pages"/> in place and calls <paramref name="run"/>(first page, count) for each run of consecutive, distinct pages.</summary>
    public static void ForEach(Span<uint> pages, Action<ulong, ulong> run)
    {
        if (pages.IsEmpty) return;
        pages.Sort();
        ulong first = pages[0], count = 1;
        for (int i = 1; i < pages.Length; i++)
        {
            if (pages[i] == pages[i - 1]) continue;                    // a page listed twice is given once
            if (pages[i] == first + count) { count++; continue; }
            run(first, count);
            (first, count) = (pages[i], 1);
        }
        run(first, count);
    }
}
