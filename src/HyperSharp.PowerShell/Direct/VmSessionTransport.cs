using System.Management.Automation.Internal;
using System.Management.Automation.Remoting;
using System.Management.Automation.Remoting.Client;
using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Direct;

/// <summary>
/// The client end of a PowerShell Direct session: PowerShell's out-of-process remoting messages (one line each, as
/// SSH remoting carries them) sent as the host's GuestPowerShell call and read back line by line from it. The base
/// class speaks the protocol; this class only moves lines. Host refusals (VM off, no agent, no PowerShell in the guest)
/// become the session's transport error, whose text PowerShell shows as the reason the connection failed.
/// </summary>
internal sealed class VmSessionTransport(Guid runspaceId, PSRemotingCryptoHelper cryptoHelper, GuestPowerShell.GuestPowerShellClient client, VmConnectionInfo target)
    : ClientSessionTransportManagerBase(runspaceId, cryptoHelper)
{
    private const int MaxMessageBytes = 256 * 1024;
    private readonly CancellationTokenSource _cancel = new();
    private readonly Channel<string> _outgoing = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private AsyncDuplexStreamingCall<PowerShellDirectInput, PowerShellDirectOutput>? _call;
    private Task? _relay;
    private volatile bool _received, _closing;

    /// <summary>Runspace.Open: the call starts, and the base class writes its first messages through our writer.</summary>
    public override void CreateAsync()
    {
        _call = client.Connect(cancellationToken: _cancel.Token);
        SetMessageWriter(new LineWriter(_outgoing.Writer));
        _relay = Task.Run(() => RelayAsync(_call));
        SendOneItem();
    }

    /// <summary>The server acknowledged the close: ending our stream ends PowerShell in the guest.</summary>
    protected override void CleanupConnection()
    {
        _closing = true;
        _outgoing.Writer.TryComplete();
    }

    protected override void Dispose(bool isDisposing)
    {
        if (isDisposing)
        {
            _closing = true;
            _outgoing.Writer.TryComplete();
            // A session closed properly has ended its call already; anything else is cut here.
            if (_relay is { } relay && !relay.Wait(TimeSpan.FromSeconds(5))) _cancel.Cancel();
            _call?.Dispose();
            _cancel.Dispose();
        }
        base.Dispose(isDisposing);
    }

    private async Task RelayAsync(AsyncDuplexStreamingCall<PowerShellDirectInput, PowerShellDirectOutput> call)
    {
        try
        {
            var sending = SendAsync(call.RequestStream);
            await ReceiveAsync(call.ResponseStream).ConfigureAwait(false);
            if (!_closing) throw new PSRemotingTransportException($"the PowerShell Direct session with VM '{target.ComputerName}' ended: PowerShell in the guest exited");
            await sending.ConfigureAwait(false);
        }
        catch (RpcException e) when (_closing && e.StatusCode == StatusCode.Cancelled) { }
        catch (Exception e) when (e is RpcException or PSRemotingTransportException or IOException or InvalidOperationException)
        {
            var reason = e is RpcException rpc
                ? new PSRemotingTransportException(rpc.StatusCode == StatusCode.Unavailable ? $"the HyperSharp host cannot be reached: {rpc.Status.Detail}" : rpc.Status.Detail, e)
                : e as PSRemotingTransportException ?? new PSRemotingTransportException(e.Message, e);
            if (!_received) target.Refusal = reason.Message; // before the queue closes: see VmConnectionInfo.Refusal
            _outgoing.Writer.TryComplete();
            var args = new TransportErrorOccuredEventArgs(reason, _received ? TransportMethodEnum.ReceiveShellOutputEx : TransportMethodEnum.CreateShellEx);
            // Raising the error drives the runspace's state machine, which disposes this transport and waits for this task.
            _ = Task.Run(() => RaiseErrorHandler(args));
        }
    }

    /// <summary>The first message names the VM and the account; then whatever lines are waiting go together in one message.</summary>
    private async Task SendAsync(IClientStreamWriter<PowerShellDirectInput> requests)
    {
        await requests.WriteAsync(new PowerShellDirectInput
        {
            VmName = target.VMId.Length == 0 ? target.ComputerName : "", VmId = target.VMId,
            UserName = target.Credential?.UserName ?? "", Password = target.Credential?.GetNetworkCredential().Password ?? "",
        }).ConfigureAwait(false);
        var batch = new StringBuilder();
        while (await _outgoing.Reader.WaitToReadAsync(_cancel.Token).ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Length < MaxMessageBytes && _outgoing.Reader.TryRead(out var line)) batch.Append(line);
            if (batch.Length > 0) await requests.WriteAsync(new PowerShellDirectInput { Data = ByteString.CopyFromUtf8(batch.ToString()) }).ConfigureAwait(false);
        }
        await requests.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>The server's bytes cut into lines; each whole line is one protocol message for the base class.</summary>
    private async Task ReceiveAsync(IAsyncStreamReader<PowerShellDirectOutput> responses)
    {
        var pending = new MemoryStream();
        while (await responses.MoveNext(_cancel.Token).ConfigureAwait(false))
        {
            var data = responses.Current.Data.Span;
            for (int newline; (newline = data.IndexOf((byte)'\n')) >= 0; data = data[(newline + 1)..])
            {
                pending.Write(data[..newline]);
                string line = Encoding.UTF8.GetString(pending.GetBuffer(), 0, (int)pending.Length).TrimEnd('\r');
                pending.SetLength(0);
                if (line.Length == 0) continue;
                _received = true;
                HandleOutputDataReceived(line);
            }
            pending.Write(data);
        }
    }

    /// <summary>What the base class writes its messages to: each line queued for the sender; a closed session is an IOException, which the base class expects.</summary>
    private sealed class LineWriter(ChannelWriter<string> lines) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => Queue(value.ToString());

        public override void Write(string? value) => Queue(value ?? "");

        public override void WriteLine(string? value) => Queue((value ?? "") + "\n");

        private void Queue(string text)
        {
            if (!lines.TryWrite(text)) throw new IOException("the PowerShell Direct session is closed");
        }
    }
}
