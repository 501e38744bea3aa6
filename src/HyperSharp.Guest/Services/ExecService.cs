using System.Diagnostics;
using System.Threading.Channels;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>
/// Exec (protocol 2): runs a command for the host with its standard streams carried as frames — stdin from the host
/// (written by a task of its own, so a command that does not read cannot stall the session), stdout and stderr back in
/// chunks — signals forwarded to it, and its exit code (or the signal that ended it) once both outputs are drained.
/// </summary>
internal sealed class ExecService(FrameChannel channel, IGuestSystem system)
{
    private const int MaxRunning = 32;
    private readonly object _lock = new();
    private readonly Dictionary<uint, Running> _running = [];

    private sealed class Running(Process process)
    {
        public Process Process { get; } = process;
        public Channel<byte[]?> Stdin { get; } = System.Threading.Channels.Channel.CreateUnbounded<byte[]?>(new UnboundedChannelOptions { SingleReader = true });
    }

    public async Task HandleAsync(Frame frame, CancellationToken cancel)
    {
        Running? run;
        lock (_lock) _running.TryGetValue(frame.RequestId, out run);
        switch (frame.Type)
        {
            case MessageType.ExecStart:
                await StartAsync(frame.RequestId, frame.Decode(ProtocolJson.Default.ExecStartMessage), cancel).ConfigureAwait(false);
                break;
            case MessageType.ExecStdin:
                run?.Stdin.Writer.TryWrite(frame.Payload.ToArray()); // the frame's buffer is reused by the next read
                break;
            case MessageType.ExecStdinClose:
                run?.Stdin.Writer.TryWrite(null);
                break;
            default: // ExecSignal
            {
                int signal = frame.Decode(ProtocolJson.Default.ExecSignalMessage).Signal;
                if (signal is < 1 or > 64) throw new ProtocolException($"signal {signal}: 1 to 64");
                if (run is null) throw new ProtocolException($"no command {frame.RequestId} is running");
                try { system.Signal(run.Process.Id, signal); }
                catch (IOException e) { throw new ProtocolException(e.Message); }
                break;
            }
        }
    }

    private async Task StartAsync(uint id, ExecStartMessage request, CancellationToken cancel)
    {
        if (request.Arguments is not { Length: > 0 } args || string.IsNullOrEmpty(args[0])) throw new ProtocolException("exec needs a command");
        // As a guest account (protocol 4): the agent's own executable checks the password and becomes that user (RunAs).
        bool asUser = !string.IsNullOrEmpty(request.User);
        var start = new ProcessStartInfo(asUser ? system.ExecutablePath : args[0])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = request.WorkingDirectory ?? "/",
        };
        if (asUser)
        {
            foreach (var a in (string[])["runas", request.User!, "--"]) start.ArgumentList.Add(a);
            start.Environment[RunAs.PasswordVariable] = request.Password ?? "";
        }
        foreach (var a in args.AsSpan(asUser ? 0 : 1)) start.ArgumentList.Add(a);
        if (request.Environment is { } env) foreach (var (k, v) in env) start.Environment[k] = v;
        Running run;
        lock (_lock)
        {
            if (_running.Count >= MaxRunning) throw new ProtocolException($"{MaxRunning} commands are running already");
            if (_running.ContainsKey(id)) throw new ProtocolException($"command {id} is running already");
            Process process;
            try { process = Process.Start(start) ?? throw new ProtocolException($"cannot start {args[0]}"); }
            catch (System.ComponentModel.Win32Exception e) { throw new ProtocolException($"cannot start {args[0]}: {e.Message}"); }
            run = new Running(process);
            _running[id] = run;
        }
        await channel.SendAsync(MessageType.ExecStarted, id, new ExecStartedMessage(run.Process.Id), ProtocolJson.Default.ExecStartedMessage, cancel).ConfigureAwait(false);
        _ = FeedStdinAsync(run);
        _ = SuperviseAsync(id, run);
    }

    private static async Task FeedStdinAsync(Running run)
    {
        var stdin = run.Process.StandardInput.BaseStream;
        try
        {
            await foreach (var chunk in run.Stdin.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (chunk is null) break;
                await stdin.WriteAsync(chunk).ConfigureAwait(false);
                await stdin.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (IOException) { } // the command closed its stdin or exited
        finally { try { stdin.Dispose(); } catch (IOException) { } }
    }

    private async Task SuperviseAsync(uint id, Running run)
    {
        try
        {
            await Task.WhenAll(
                PumpAsync(id, run.Process.StandardOutput.BaseStream, MessageType.ExecStdout),
                PumpAsync(id, run.Process.StandardError.BaseStream, MessageType.ExecStderr)).ConfigureAwait(false);
            await run.Process.WaitForExitAsync().ConfigureAwait(false);
            int code = run.Process.ExitCode;
            // .NET reports a command killed by signal N as 128 + N, as shells do.
            await channel.SendAsync(MessageType.ExecExit, id, new ExecExitMessage(code, code > 128 && code <= 128 + 64 ? code - 128 : 0),
                ProtocolJson.Default.ExecExitMessage).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { } // the host went away
        finally
        {
            lock (_lock) _running.Remove(id);
            run.Stdin.Writer.TryComplete();
            run.Process.Dispose();
        }
    }

    private async Task PumpAsync(uint id, Stream output, MessageType type)
    {
        var buffer = new byte[FrameChannel.DataChunk];
        int n;
        while ((n = await output.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            await channel.SendAsync(type, id, buffer.AsMemory(0, n)).ConfigureAwait(false);
    }

    /// <summary>The host is gone: its commands are killed (nobody would read their output or see them end).</summary>
    public void KillAll()
    {
        lock (_lock)
        {
            foreach (var run in _running.Values)
            {
                try { run.Process.Kill(entireProcessTree: true); } catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
            }
        }
    }
}
