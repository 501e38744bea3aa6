using HyperSharp.Host.Migration;

namespace HyperSharp.Host.Tests.Migration;

/// <summary>-MaximumVirtualMachineMigrations: moves beyond the limit wait their turn, in order; a change of the limit applies to the next turn; a cancelled wait leaves the line.</summary>
public sealed class MigrationQueueTests
{
    [Fact]
    public async Task MovesBeyondTheLimitWaitTheirTurnInOrder()
    {
        int limit = 2;
        var queue = new MigrationQueue(() => limit);
        var first = await queue.EnterAsync(CancellationToken.None);
        var second = await queue.EnterAsync(CancellationToken.None);
        var third = queue.EnterAsync(CancellationToken.None);
        var fourth = queue.EnterAsync(CancellationToken.None);
        using var giveUp = new CancellationTokenSource();
        var fifth = queue.EnterAsync(giveUp.Token);
        Assert.Equal((2, 3), queue.Count);
        Assert.False(third.IsCompleted || fourth.IsCompleted);

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fifth);
        Assert.Equal((2, 2), queue.Count);

        first.Dispose();
        var thirdTurn = await third.WaitAsync(TimeSpan.FromSeconds(10)); // the first in line, not the fourth
        Assert.False(fourth.IsCompleted);
        limit = 3; // raised: applies when the next turn is given
        second.Dispose();
        var fourthTurn = await fourth.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((2, 0), queue.Count);
        thirdTurn.Dispose();
        fourthTurn.Dispose();
        fourthTurn.Dispose(); // a second end of the same turn changes nothing
        Assert.Equal((0, 0), queue.Count);
    }
}
