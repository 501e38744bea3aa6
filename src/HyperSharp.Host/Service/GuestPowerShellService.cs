using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Service;

/// <summary>
/// PowerShell Direct: PowerShell's server mode started in the running guest through its agent's exec service, its
/// stdin/stdout relayed to the client's call. Rides on exec (protocol 2) rather than a vsock port of its own: the agent
/// already starts, feeds, signals and reaps processes, and the worker already bridges them to the host, so the
/// session is one more command. The server's stderr is kept (a few KiB) to say why a session never started.
/// </summary>
public sealed class GuestPowerShellService(VmManager manager) : GuestPowerShell.GuestPowerShellBase
{
    private const int StderrKept = 4096;

    public override async Task Connect(IAsyncStreamReader<PowerShellDirectInput> requestStream, IServerStreamWriter<PowerShellDirectOutput> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false)) return;
        var first = requestStream.Current;
        var vm = manager.Find(new VmRef { Name = first.VmName, Id = first.VmId });
        string refused = $"cannot open a PowerShell Direct session to VM '{vm.Name}'";
        if (vm.State != Domain.PowerState.Running) throw HostErrors.Precondition($"{refused}: it is {vm.State}; PowerShell Direct needs the VM running (Start-VM)");
        if (vm.Guest is not { Heartbeat: GuestIntegrationStatus.Ok })
            throw HostErrors.Precondition($"{refused}: its guest agent is not answering (heartbeat: {IntegrationProjection.Heartbeat(vm)}); PowerShell Direct needs hs-agent running in the guest");
        string? user = string.IsNullOrEmpty(first.UserName) ? null : first.UserName;
        using var worker = await manager.Integration.OpenExecAsync(vm, PowerShellDirectLauncher.Arguments, context.CancellationToken, user, first.Password).ConfigureAwait(false);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var input = Task.Run(() => RelayClientAsync(requestStream, first, worker, done.Token));
        var stderr = new StringBuilder();
        bool started = false;
        try
        {
            while (await ExecFrames.ReadAsync(worker, done.Token).ConfigureAwait(false) is { } frame)
            {
                switch (frame.Kind)
                {
                    case ExecFrames.Stdout:
                        started = true;
                        await responseStream.WriteAsync(new PowerShellDirectOutput { Data = ByteString.CopyFrom(frame.Data) }).ConfigureAwait(false);
                        break;
                    case ExecFrames.Stderr:
                        if (stderr.Length < StderrKept) stderr.Append(Encoding.UTF8.GetString(frame.Data.AsSpan(0, Math.Min(frame.Data.Length, StderrKept - stderr.Length))));
                        break;
                    case ExecFrames.Exit:
                        var (code, _) = ExecFrames.ReadExit(frame.Data);
                        if (code == PowerShellDirectLauncher.NoPowerShell) throw HostErrors.Precondition($"{refused}: {stderr.ToString().Trim()}");
                        if (code == PowerShellDirectLauncher.CredentialsRefused) throw HostErrors.PermissionDenied($"{refused}: {stderr.ToString().Trim()}");
                        if (!started || code != 0)
                            throw HostErrors.Precondition($"PowerShell in VM '{vm.Name}' ended (exit code {code}){(started ? "" : " before the session started")}: {stderr.ToString().Trim()}");
                        return;
                    case ExecFrames.Error: throw HostErrors.Precondition($"{refused}: {Encoding.UTF8.GetString(frame.Data)}");
                }
            }
            throw HostErrors.Internal($"the PowerShell Direct session with VM '{vm.Name}' broke: the worker ended it without saying how (the VM stopped?)");
        }
        catch (Exception e) when (e is SocketException or InvalidDataException)
        {
            throw HostErrors.Internal($"the PowerShell Direct session with VM '{vm.Name}' broke: {e.Message}");
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
            await input.ConfigureAwait(false);
        }
    }

    /// <summary>The client's protocol bytes to the server's stdin; the client's end of stream closes it, which ends the server.</summary>
    private static async Task RelayClientAsync(IAsyncStreamReader<PowerShellDirectInput> requestStream, PowerShellDirectInput first, Socket worker, CancellationToken cancellationToken)
    {
        try
        {
            for (var message = first; ; message = requestStream.Current)
            {
                if (!message.Data.IsEmpty) await ExecFrames.WriteAsync(worker, ExecFrames.Stdin, message.Data.Memory, cancellationToken).ConfigureAwait(false);
                if (!await requestStream.MoveNext(cancellationToken).ConfigureAwait(false)) break;
            }
            await ExecFrames.WriteAsync(worker, ExecFrames.StdinClose, default, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or RpcException) { }
    }
}
