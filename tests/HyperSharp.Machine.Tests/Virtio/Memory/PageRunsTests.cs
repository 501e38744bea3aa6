using HyperSharp.Machine.Virtio.Balloon;

namespace HyperSharp.Machine.Tests.Virtio.Memory;

public class PageRunsTests
{
    [Fact]
    public void ConsecutivePagesBecomeOneRunInAnyOrderAndDuplicatesCountOnce()
    {
        var runs = new List<(ulong, ulong)>();
        uint[] pages = [9, 3, 4, 10, 5, 4, 20, 8];
        PageRuns.ForEach(pages, (first, count) => runs.Add((first, count)));
        Assert.Equal([(3UL, 3UL), (8UL, 3UL), (20UL, 1UL)], runs);
    }
}
