using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>Time Synchronization: sets the guest clock to the host's time and reports how far off it was.</summary>
internal static class TimeSyncService
{
    public static async Task HandleAsync(FrameChannel channel, IGuestSystem system, Frame frame, CancellationToken cancel)
    {
        var request = frame.Decode(ProtocolJson.Default.TimeSyncRequestMessage);
        const long Year9999 = 253_402_300_799_000_000; // microseconds after 1970 of the last second DateTimeOffset holds
        if (request.UnixTimeMicroseconds is < 0 or > Year9999) throw new ProtocolException($"time {request.UnixTimeMicroseconds} µs after 1970 is out of range");
        var host = DateTimeOffset.UnixEpoch.AddTicks(request.UnixTimeMicroseconds * 10);
        long offset = (DateTimeOffset.UtcNow - host).Ticks / 10;
        system.SetClock(host);
        Linux.AgentLog.Info($"time synchronized with the host (the guest was {offset / 1000.0:F1} ms {(offset >= 0 ? "ahead" : "behind")})");
        await channel.SendAsync(MessageType.TimeSyncReply, frame.RequestId, new TimeSyncReplyMessage(offset, true), ProtocolJson.Default.TimeSyncReplyMessage, cancel)
            .ConfigureAwait(false);
    }
}
