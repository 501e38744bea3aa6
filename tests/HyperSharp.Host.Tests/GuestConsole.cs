using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Tests;

/// <summary>Reads a running VM's serial console through the host's API (what `hyper vm console` shows).</summary>
public static class GuestConsole
{
    /// <summary>
    /// Attaches to <paramref name="vmName"/>'s console, sends <paramref name="input"/>, and collects the output
    /// (the worker's backlog first, then live) until <paramref name="done"/> holds for the text so far or the
    /// timeout passes; returns what arrived either way, so a failing test can print it.
    /// </summary>
    public static async Task<string> ReadAsync(VmHost.VmHostClient client, string vmName, Func<string, bool> done, TimeSpan timeout, byte[]? input = null)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var call = client.AttachConsole(cancellationToken: cancel.Token);
        await call.RequestStream.WriteAsync(new ConsoleInput { Vm = new VmRef { Name = vmName }, Data = Google.Protobuf.ByteString.CopyFrom(input ?? []) });
        var text = new System.Text.StringBuilder();
        try
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancel.Token))
            {
                text.Append(System.Text.Encoding.ASCII.GetString(chunk.Data.Span));
                if (done(text.ToString())) break;
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled) { }
        catch (OperationCanceledException) { }
        return text.ToString();
    }
}
