using System.Net.Sockets;
using HyperSharp.Integration;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Worker;

/// <summary>
/// One command in the guest for the host (`hyper vm exec`): the host's frames become the command's stdin and signals,
/// its output and end become frames to the host (<see cref="ExecFrames"/>). A host that goes away hangs the command up
/// (SIGHUP), as a closed terminal would.
/// </summary>
internal static class WorkerExec
{
    private const int SigHup = 1;

    public static async Task RunAsync(Socket connection, GuestCommand command, CancellationToken stopping)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var input = Task.Run(() => PumpInputAsync(connection, command, done.Token));
        try
        {
            while (await command.ReadOutputAsync(done.Token).ConfigureAwait(false) is { } piece)
                await ExecFrames.WriteAsync(connection, piece.IsStderr ? ExecFrames.Stderr : ExecFrames.Stdout, piece.Data, done.Token).ConfigureAwait(false);
            var exit = await command.Exit.ConfigureAwait(false);
            await ExecFrames.WriteAsync(connection, ExecFrames.Exit, ExecFrames.ExitData(exit.ExitCode, exit.Signal), done.Token).ConfigureAwait(false);
        }
        catch (GuestAgentException e)
        {
            await ExecFrames.WriteAsync(connection, ExecFrames.Error, System.Text.Encoding.UTF8.GetBytes(e.Message), done.Token).ConfigureAwait(false);
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
            try { await input.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
    }

    private static async Task PumpInputAsync(Socket connection, GuestCommand command, CancellationToken cancellationToken)
    {
        try
        {
            while (await ExecFrames.ReadAsync(connection, cancellationToken).ConfigureAwait(false) is { } frame)
            {
                switch (frame.Kind)
                {
                    case ExecFrames.Stdin: await command.WriteStdinAsync(frame.Data, cancellationToken).ConfigureAwait(false); break;
                    case ExecFrames.StdinClose: await command.CloseStdinAsync(cancellationToken).ConfigureAwait(false); break;
                    case ExecFrames.Signal when frame.Data.Length == 4: await command.SignalAsync(BitConverter.ToInt32(frame.Data), cancellationToken).ConfigureAwait(false); break;
                    default: throw new InvalidDataException($"exec frame kind {frame.Kind} is not one the host sends");
                }
            }
            if (!command.Exit.IsCompleted) await command.SignalAsync(SigHup, cancellationToken).ConfigureAwait(false); // the host went away
        }
        catch (Exception e) when (e is SocketException or InvalidDataException or IOException or GuestAgentException or ObjectDisposedException)
        {
            if (!command.Exit.IsCompleted)
                try { await command.SignalAsync(SigHup, CancellationToken.None).ConfigureAwait(false); } catch (Exception f) when (f is IOException or GuestAgentException or ObjectDisposedException) { }
        }
    }
}
