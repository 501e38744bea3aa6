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
        await HostClosedAsync(channel, cancel).ConfigureAwait(false);
        system.PowerOff(reason);
    }

    /// <summary>How long the agent waits for the host to close the connection after accepting (an older host never does).</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Waits until the host has closed the connection: only then is the acceptance known to have left the guest. Powered
    /// off at once, the guest could still hold it in its vsock transmit queue, and the host would see the connection
    /// end with no answer (and press the power button instead). Frames that arrive meanwhile are not served.
    /// </summary>
    private static async Task HostClosedAsync(FrameChannel channel, CancellationToken cancel)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        wait.CancelAfter(CloseWait);
        try
        {
            while (await channel.ReadAsync(wait.Token).ConfigureAwait(false) is not null) { }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ProtocolException) { }
    }
}
