using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>Shutdown: acknowledges the host's request, then syncs and powers the guest off, saying in the log that the agent did it.</summary>
internal static class ShutdownService
{
    public static async Task HandleAsync(FrameChannel channel, IGuestSystem system, Frame frame, CancellationToken cancel)
    {
        var request = frame.Decode(ProtocolJson.Default.ShutdownRequestMessage);
        string reason = string.IsNullOrWhiteSpace(request.Reason) ? "no reason given" : request.Reason[..Math.Min(request.Reason.Length, 200)];
        await channel.SendAsync(MessageType.Ok, frame.RequestId, cancel: cancel).ConfigureAwait(false);
        system.PowerOff(reason);
    }
}
