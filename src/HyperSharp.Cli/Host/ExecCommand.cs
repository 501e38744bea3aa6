using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper vm exec NAME -- CMD ARGS…`: a command in the running guest through the host and the guest agent, no network
/// needed. Standard input goes to it (its end closes the command's), its stdout and stderr come back as they are
/// written, Ctrl-C is sent to it as SIGINT, and `hyper` exits with its exit code.
/// </summary>
internal static class ExecCommand
{
    private const int SigInt = 2;

    public static Command Create(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var arguments = new Argument<string[]>("command") { Description = "The command and its arguments (after --)", Arity = ArgumentArity.OneOrMore };
        var socket = HostClient.SocketOption();
        var command = new Command("exec", "Run a command in a running VM through its guest agent, streams and exit code carried by the host") { name, arguments, socket };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            using var call = client.GuestIntegration.ExecVm();
            var first = new ExecInput { Vm = HostClient.Ref(result.GetValue(name)!) };
            first.Arguments.AddRange(result.GetValue(arguments)!);
            await call.RequestStream.WriteAsync(first).ConfigureAwait(false);
            using var sending = new SemaphoreSlim(1, 1); // stdin and Ctrl-C share the request stream
            async Task Send(ExecInput input)
            {
                await sending.WaitAsync().ConfigureAwait(false);
                try { await call.RequestStream.WriteAsync(input).ConfigureAwait(false); }
                finally { sending.Release(); }
            }
            ConsoleCancelEventHandler interrupt = (_, e) =>
            {
                e.Cancel = true;
                _ = Send(new ExecInput { Signal = SigInt });
            };
            Console.CancelKeyPress += interrupt;
            try
            {
                var input = Task.Run(() => PumpStdinAsync(context, Send));
                using var stdout = context.OpenStdout();
                await foreach (var output in call.ResponseStream.ReadAllAsync().ConfigureAwait(false))
                {
                    if (!output.Stdout.IsEmpty) { stdout.Write(output.Stdout.Span); stdout.Flush(); }
                    if (!output.Stderr.IsEmpty) { context.Error.Write(output.Stderr.ToStringUtf8()); context.Error.Flush(); }
                    if (output.Exited) return output.ExitCode;
                }
                context.Error.WriteLine("hyper: the host ended the command's stream without its exit code");
                return CliAction.Failed;
            }
            finally { Console.CancelKeyPress -= interrupt; }
        }));
        return command;
    }

    /// <summary>Standard input to the command, then its end; a command that ended first leaves the rest unread.</summary>
    private static async Task PumpStdinAsync(CliContext context, Func<ExecInput, Task> send)
    {
        try
        {
            using var stdin = context.OpenStdin();
            var buffer = new byte[16 * 1024];
            int n;
            while ((n = await stdin.ReadAsync(buffer).ConfigureAwait(false)) > 0) await send(new ExecInput { Stdin = ByteString.CopyFrom(buffer, 0, n) }).ConfigureAwait(false);
            await send(new ExecInput { StdinClose = true }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or IOException or ObjectDisposedException) { }
    }
}
