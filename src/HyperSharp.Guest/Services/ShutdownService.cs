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
        await AcceptanceDeliveredAsync(channel).ConfigureAwait(false);
        system.PowerOff(reason);
    }

    /// <summary>How long the agent waits for the connection's end after accepting (a host that does not close it).</summary>
    private static readonly TimeSpan EndWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Ends the connection from this side after the acceptance and waits for the host's end of it: a guest powered off
    /// straight after writing its acceptance could still hold it in its vsock transmit queue, and the host would see the
    /// connection drop with no answer (and press the power button instead). The end (a vsock shutdown) travels behind the
    /// acceptance, and the host closes its side once it has read both; the wait is bounded for a host that does not.
    /// </summary>
    private static async Task AcceptanceDeliveredAsync(FrameChannel channel)
    {
        if (channel.Stream is Linux.SocketStream socket) socket.ShutdownSend();
        // The agent's socket reads block their thread (SocketStream), so the read waits on a thread of its own.
        var ended = Task.Run(async () =>
        {
            try { while (await channel.ReadAsync().ConfigureAwait(false) is not null) { } }
            catch (Exception e) when (e is IOException or ProtocolException or ObjectDisposedException) { }
        });
        await Task.WhenAny(ended, Task.Delay(EndWait)).ConfigureAwait(false);
    }
}
