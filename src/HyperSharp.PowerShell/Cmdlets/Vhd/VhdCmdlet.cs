using System.Management.Automation;
using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vhd;

/// <summary>What the VHD cmdlets share: the long operations' progress shown with Write-Progress.</summary>
public abstract class VhdCmdlet : HyperSharpCmdlet
{
    private static int _nextActivityId;

    /// <summary>
    /// Follows a streaming operation (convert, merge, optimize), showing each percent with Write-Progress;
    /// returns the result carried by the last message, or null after writing the error.
    /// </summary>
    protected VirtualHardDisk? FollowProgress(Func<CancellationToken, AsyncServerStreamingCall<VhdProgress>> start, string activity, object target)
    {
        int activityId = Interlocked.Increment(ref _nextActivityId);
        var record = new ProgressRecord(activityId, activity, "Starting") { PercentComplete = 0 };
        Api.V1.VirtualHardDisk? result = null;
        bool ok = TryCall(c =>
        {
            using var call = start(c);
            // Cmdlets run on the pipeline thread, which has no synchronization context: waiting here cannot deadlock.
            while (call.ResponseStream.MoveNext(c).GetAwaiter().GetResult())
            {
                var message = call.ResponseStream.Current;
                if (message.Result is not null) result = message.Result;
                record.PercentComplete = (int)Math.Clamp(message.PercentComplete, 0, 100);
                record.StatusDescription = $"{record.PercentComplete}% complete";
                WriteProgress(record);
            }
            return true;
        }, target, out _);
        record.RecordType = ProgressRecordType.Completed;
        WriteProgress(record);
        return ok ? result?.ToObject() : null;
    }
}
