using System.Threading.Channels;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration;

/// <summary>
/// A command running in the guest (`hyper vm exec`): write its stdin, read its stdout and stderr as they come, send
/// it signals (Ctrl-C is SIGINT), and learn how it ended. <see cref="RunAsync"/> does all of it between streams.
/// </summary>
public sealed class GuestCommand
{
    private readonly GuestAgent _agent;
    private readonly Channel<(MessageType Type, byte[] Data)> _output = Channel.CreateUnbounded<(MessageType, byte[])>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource<ExecExitMessage> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal GuestCommand(GuestAgent agent, uint id)
    {
        _agent = agent;
        Id = id;
    }

    internal uint Id { get; }

    /// <summary>The command's process id in the guest.</summary>
    public int ProcessId { get; internal set; }

    /// <summary>How the command ended: its exit code, and the signal that killed it (0 if none).</summary>
    public Task<ExecExitMessage> Exit => _exit.Task;

    internal void Receive(Frame frame)
    {
        if (frame.Type == MessageType.ExecExit)
        {
            ExecExitMessage exit;
            try { exit = frame.Decode(ProtocolJson.Default.ExecExitMessage); }
            catch (ProtocolException e) { Fail(new GuestAgentException(e.Message)); return; }
            _output.Writer.TryComplete();
            _exit.TrySetResult(exit);
            _agent.Forget(this);
        }
        else _output.Writer.TryWrite((frame.Type, frame.Payload.ToArray())); // the frame's buffer is reused by the next read
    }

    internal void Fail(Exception e)
    {
        _output.Writer.TryComplete(e);
        _exit.TrySetException(e);
    }

    public async Task WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken cancel = default)
    {
        for (int at = 0; at < data.Length; at += FrameChannel.DataChunk)
            await _agent.Channel.SendAsync(MessageType.ExecStdin, Id, data.Slice(at, Math.Min(FrameChannel.DataChunk, data.Length - at)), cancel).ConfigureAwait(false);
    }

    public ValueTask CloseStdinAsync(CancellationToken cancel = default) => _agent.Channel.SendAsync(MessageType.ExecStdinClose, Id, cancel: cancel);

    public ValueTask SignalAsync(int signal, CancellationToken cancel = default) =>
        _agent.Channel.SendAsync(MessageType.ExecSignal, Id, new ExecSignalMessage(signal), ProtocolJson.Default.ExecSignalMessage, cancel);

    /// <summary>The next piece of output (stdout or stderr), or null once the command has ended and all was read.</summary>
    public async Task<(bool IsStderr, byte[] Data)?> ReadOutputAsync(CancellationToken cancel = default)
    {
        while (await _output.Reader.WaitToReadAsync(cancel).ConfigureAwait(false))
            if (_output.Reader.TryRead(out var item)) return (item.Type == MessageType.ExecStderr, item.Data);
        return null;
    }

    /// <summary>Feeds <paramref name="stdin"/> (then closes the command's stdin), copies its output to the streams, and returns how it ended.</summary>
    public async Task<ExecExitMessage> RunAsync(Stream? stdin, Stream stdout, Stream stderr, CancellationToken cancel = default)
    {
        var feeding = stdin is null ? CloseStdinAsync(cancel).AsTask() : FeedAsync(stdin, cancel);
        while (await ReadOutputAsync(cancel).ConfigureAwait(false) is { } piece)
        {
            var target = piece.IsStderr ? stderr : stdout;
            await target.WriteAsync(piece.Data, cancel).ConfigureAwait(false);
            await target.FlushAsync(cancel).ConfigureAwait(false);
        }
        var exit = await Exit.ConfigureAwait(false);
        try { await feeding.ConfigureAwait(false); } catch (Exception e) when (e is IOException or GuestAgentException or ObjectDisposedException) { } // the command ended first
        return exit;
    }

    private async Task FeedAsync(Stream stdin, CancellationToken cancel)
    {
        var buffer = new byte[FrameChannel.DataChunk];
        int n;
        while (!Exit.IsCompleted && (n = await stdin.ReadAsync(buffer, cancel).ConfigureAwait(false)) > 0)
            await WriteStdinAsync(buffer.AsMemory(0, n), cancel).ConfigureAwait(false);
        if (!Exit.IsCompleted) await CloseStdinAsync(cancel).ConfigureAwait(false);
    }
}
