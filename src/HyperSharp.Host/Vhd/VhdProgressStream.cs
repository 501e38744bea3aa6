using System.Threading.Channels;
using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Vhd;

/// <summary>
/// Runs a long disk operation (convert, merge, optimize) on a pool thread and streams its progress as
/// whole percents — at most about a hundred messages however big the disk — then the result as the
/// last message. The response stream is written from this one async flow only (gRPC writers are not
/// thread-safe); the worker just posts the latest percent, dropping older ones the client has not taken.
/// </summary>
internal static class VhdProgressStream
{
    public static async Task RunAsync(string activity, long totalBytes, Func<IProgress<long>, CancellationToken, VirtualHardDisk> work,
        IServerStreamWriter<VhdProgress> stream, CancellationToken cancel)
    {
        var percents = Channel.CreateBounded<int>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        var progress = new PercentProgress(totalBytes, percents.Writer);
        var job = Task.Run(() => work(progress, cancel), cancel);
        _ = job.ContinueWith(_ => percents.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await foreach (int percent in percents.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
            await stream.WriteAsync(new VhdProgress { PercentComplete = percent, Activity = activity }, cancel).ConfigureAwait(false);
        var result = await job.ConfigureAwait(false);
        await stream.WriteAsync(new VhdProgress { PercentComplete = 100, Activity = activity, Result = result }, cancel).ConfigureAwait(false);
    }

    /// <summary>Bytes done to whole percents; posts only when the percent changes.</summary>
    private sealed class PercentProgress(long totalBytes, ChannelWriter<int> writer) : IProgress<long>
    {
        private int _last = -1;

        public void Report(long bytesDone)
        {
            int percent = (int)Math.Clamp(bytesDone * 100 / Math.Max(totalBytes, 1), 0, 99);
            if (percent <= Volatile.Read(ref _last)) return;
            Volatile.Write(ref _last, percent);
            writer.TryWrite(percent);
        }
    }
}
