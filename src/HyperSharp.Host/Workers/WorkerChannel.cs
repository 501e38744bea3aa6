using System.Net.Sockets;
using System.Text;
using HyperSharp.Inventory.Workers;
using HyperSharp.Networking.Interop;

namespace HyperSharp.Host.Workers;

/// <summary>
/// The host's end of a worker's report channel (see <see cref="WorkerOps.Attach"/>): the host attaches once — adapters'
/// labels and switch ports — and then reads the worker's reports until the connection ends, which it does when the
/// worker's process does. What the host knows of a running worker comes from here, never from asking it in a loop.
/// </summary>
public sealed class WorkerChannel(Socket socket) : IDisposable
{
    /// <summary>After a host restart: connects to a running worker's control socket, to attach there.</summary>
    public static async Task<WorkerChannel> ConnectAsync(string workerSocket, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(workerSocket), cancellationToken).ConfigureAwait(false);
            return new WorkerChannel(socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new WorkerException($"the worker is not answering on {workerSocket}: {e.Message}");
        }
    }

    /// <summary>Sends the attach request, then each port's descriptor in the order of the plugs that have one.</summary>
    public async Task AttachAsync(IReadOnlyList<WorkerAdapterPlug> plugs, IReadOnlyList<int> ports, AttachExtras extras, CancellationToken cancellationToken)
    {
        var request = new WorkerRequest
        {
            Op = WorkerOps.Attach, Plugs = [.. plugs], AgentUpdateFolder = extras.AgentUpdateFolder, ActivationKeyFile = extras.ActivationKeyFile,
        };
        try
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(WorkerJson.Line(request)), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            foreach (int port in ports) DescriptorPassing.Send(socket.Handle, port);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw new WorkerException($"the worker went away as it was attached: {e.Message}");
        }
    }

    /// <summary>The worker's next report, or null once the connection has ended (the worker is gone).</summary>
    public async Task<WorkerReport?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var line = await LineReader.ReadLineAsync(socket, cancellationToken).ConfigureAwait(false);
            return line is null ? null : WorkerJson.Parse<WorkerReport>(line);
        }
        catch (Exception e) when (e is SocketException or InvalidDataException or System.Text.Json.JsonException)
        {
            return null; // a reset connection or a garbled line: the worker is no longer one the host can follow
        }
    }

    public void Dispose() => socket.Dispose();
}

/// <summary>What the host gives every worker at attach besides its adapters: the newer guest agent to offer and the activation key.</summary>
public sealed record AttachExtras(string? AgentUpdateFolder, string? ActivationKeyFile);
