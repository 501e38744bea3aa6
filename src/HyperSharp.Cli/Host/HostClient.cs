using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using HyperSharp.Api;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// How the VM commands reach `hyper host`: the --host-socket option (else HYPERSHARP_HOST_SOCKET, else the
/// default socket), one call per command, and the host's errors as one line each.
/// </summary>
internal static class HostClient
{
    public static Option<string?> SocketOption() => new("--host-socket") { Description = $"The host service's socket (default: ${HostEndpoint.SocketEnvironmentVariable} or {HostEndpoint.DefaultSocketPath})" };

    public static Option<bool> JsonOption() => new("--json") { Description = "Print JSON (the API's objects) instead of text" };

    /// <summary>Runs <paramref name="body"/> with a client; a host error becomes "hyper: MESSAGE" and exit code 1.</summary>
    public static int Run(CliContext context, string? socket, Func<VmHost.VmHostClient, Task<int>> body) =>
        Run(context, socket, channel => new VmHost.VmHostClient(channel), body);

    /// <summary>The same for the host's other services (the failover cluster's): <paramref name="client"/> makes the client over the channel.</summary>
    public static int Run<TClient>(CliContext context, string? socket, Func<Grpc.Net.Client.GrpcChannel, TClient> client, Func<TClient, Task<int>> body) => CliAction.Run(context, () =>
    {
        using var channel = HostEndpoint.Connect(socket);
        try
        {
            return body(client(channel)).GetAwaiter().GetResult();
        }
        catch (RpcException e)
        {
            context.Error.WriteLine($"hyper: {Describe(e)}");
            if (context.Debug) context.Error.WriteLine(e);
            return CliAction.Failed;
        }
    });

    private static string Describe(RpcException e)
    {
        for (Exception? inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
            if (inner is HostUnavailableException unavailable) return unavailable.Message;
        return e.StatusCode switch
        {
            StatusCode.Unavailable => $"the host service is unavailable: {e.Status.Detail}",
            StatusCode.Unimplemented => "the host service does not know this request (is it an older HyperSharp?)",
            _ => e.Status.Detail,
        };
    }

    /// <summary>The host's warnings about settings it recorded but does not act on yet, one line each on stderr.</summary>
    public static void Warn(CliContext context, IEnumerable<string> warnings)
    {
        foreach (var warning in warnings) context.Error.WriteLine($"warning: {warning}");
    }

    public static VmRef Ref(string nameOrId) => Guid.TryParse(nameOrId, out _) ? new VmRef { Id = nameOrId } : new VmRef { Name = nameOrId };

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation());

    public static string ToJson(IMessage message) => Json.Format(message);
}
