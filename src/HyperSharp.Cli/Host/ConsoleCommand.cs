using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper vm console NAME`: the VM's serial console through the host — the recent backlog, then live
/// output; keystrokes go to the guest (terminal in raw mode). Ctrl-] detaches; the VM keeps running.
/// </summary>
internal static class ConsoleCommand
{
    private const byte EscapeKey = 0x1D; // Ctrl-]

    public static Command Create(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var socket = HostClient.SocketOption();
        var command = new Command("console", "Attach to a running VM's serial console (Ctrl-] detaches)") { name, socket };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            bool raw = !Console.IsInputRedirected && Vm.SerialConsole.Stty("raw -echo");
            if (!Console.IsInputRedirected) context.Error.WriteLine($"hyper: attached to {result.GetValue(name)} (Ctrl-] detaches)\r");
            try
            {
                using var detach = new CancellationTokenSource();
                using var call = client.AttachConsole(cancellationToken: detach.Token);
                await call.RequestStream.WriteAsync(new ConsoleInput { Vm = HostClient.Ref(result.GetValue(name)!) }).ConfigureAwait(false);
                var input = Task.Run(() => PumpInput(call.RequestStream, detach));
                using var stdout = context.OpenStdout();
                try
                {
                    await foreach (var chunk in call.ResponseStream.ReadAllAsync(detach.Token).ConfigureAwait(false))
                    {
                        stdout.Write(chunk.Data.Span);
                        stdout.Flush();
                    }
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled) { }
                catch (OperationCanceledException) { }
                return 0;
            }
            finally
            {
                if (raw) Vm.SerialConsole.Stty("sane");
            }
        }));
        return command;
    }

    private static async Task PumpInput(IClientStreamWriter<ConsoleInput> requests, CancellationTokenSource detach)
    {
        using var stdin = Console.OpenStandardInput();
        var buffer = new byte[256];
        int n;
        // End of input (stdin from /dev/null or a pipe) does not detach: the output goes on until Ctrl-] or the VM stops.
        while ((n = await stdin.ReadAsync(buffer, detach.Token).ConfigureAwait(false)) > 0)
        {
            int stop = Array.IndexOf(buffer, EscapeKey, 0, n);
            int take = stop >= 0 ? stop : n;
            if (take > 0) await requests.WriteAsync(new ConsoleInput { Data = ByteString.CopyFrom(buffer, 0, take) }).ConfigureAwait(false);
            if (stop >= 0) { await detach.CancelAsync().ConfigureAwait(false); return; }
        }
    }
}
