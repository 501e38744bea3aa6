using System.Net.Sockets;
using System.Text;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Workers;

/// <summary>The host's side of the worker protocol: one connection per request (requests are rare; consoles stay open).</summary>
public sealed class WorkerClient(string socketPath)
{
    public string SocketPath { get; } = socketPath;

    /// <summary>Sends one request and returns the answer; <paramref name="descriptor"/> goes with it when the request says so.</summary>
    public async Task<WorkerResponse> SendAsync(WorkerRequest request, CancellationToken cancellationToken = default, int? descriptor = null)
    {
        using var socket = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var response = await ExchangeAsync(socket, request, cancellationToken, descriptor).ConfigureAwait(false);
        if (!response.Ok) throw new WorkerException(response.Error ?? "the worker refused the request");
        return response;
    }

    /// <summary>Opens the console: the returned socket yields the backlog then live output, and takes input.</summary>
    public Task<Socket> OpenConsoleAsync(CancellationToken cancellationToken) => OpenStreamAsync(new WorkerRequest { Op = WorkerOps.Console }, cancellationToken);

    /// <summary>Sends a request after whose answer the connection carries a stream (the console, a command's <see cref="ExecFrames"/>); returns the connection.</summary>
    public async Task<Socket> OpenStreamAsync(WorkerRequest request, CancellationToken cancellationToken)
    {
        var socket = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await ExchangeAsync(socket, request, cancellationToken).ConfigureAwait(false);
            if (!response.Ok) throw new WorkerException(response.Error ?? $"the worker refused the {request.Op} request");
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new WorkerException($"the worker is not answering on {SocketPath}: {e.Message}");
        }
    }

    private static async Task<WorkerResponse> ExchangeAsync(Socket socket, WorkerRequest request, CancellationToken cancellationToken, int? descriptor = null)
    {
        if (request.Descriptor != descriptor.HasValue) throw new ArgumentException($"{request.Op}: a descriptor goes with the request exactly when it says so");
        try
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(WorkerJson.Line(request)), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (descriptor is int fd) HyperSharp.Networking.Interop.DescriptorPassing.Send(socket.Handle, fd);
            var line = await LineReader.ReadLineAsync(socket, cancellationToken).ConfigureAwait(false)
                ?? throw new WorkerException("the worker closed the connection without answering");
            return WorkerJson.Parse<WorkerResponse>(line);
        }
        catch (Exception e) when (e is SocketException or IOException or System.Text.Json.JsonException)
        {
            // A worker that exits mid-exchange (the guest powered off as it was asked something) resets the
            // connection: to the caller that is the same as a worker that is not answering.
            throw new WorkerException($"the worker went away during the request: {e.Message}");
        }
    }
}

/// <summary>A worker refused a request or could not be reached.</summary>
public sealed class WorkerException(string message) : Exception(message);
