using Grpc.Core;
using Grpc.Core.Interceptors;
using HyperSharp.Api;

namespace HyperSharp.Host.Service;

/// <summary>
/// The one place a host error becomes a gRPC status: every call of every service passes through here, so the layers
/// below speak <see cref="HostException"/> and never know the wire.
/// </summary>
public sealed class HostErrorInterceptor : Interceptor
{
    public static RpcException ToRpc(HostException e)
    {
        var code = e.Kind switch
        {
            HostErrorKind.InvalidArgument => StatusCode.InvalidArgument,
            HostErrorKind.NotFound => StatusCode.NotFound,
            HostErrorKind.AlreadyExists => StatusCode.AlreadyExists,
            HostErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
            HostErrorKind.Busy => StatusCode.Aborted,
            HostErrorKind.Timeout => StatusCode.DeadlineExceeded,
            HostErrorKind.PermissionDenied => StatusCode.PermissionDenied,
            HostErrorKind.Cancelled => StatusCode.Cancelled,
            _ => StatusCode.Internal,
        };
        var trailers = new Metadata();
        if (e.Parameter is { } parameter) trailers.Add(HostEndpoint.ParameterTrailer, parameter);
        return new RpcException(new Status(code, e.Message), trailers);
    }

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(request, context).ConfigureAwait(false); }
        catch (HostException e) { throw ToRpc(e); }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(requestStream, context).ConfigureAwait(false); }
        catch (HostException e) { throw ToRpc(e); }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(request, responseStream, context).ConfigureAwait(false); }
        catch (HostException e) { throw ToRpc(e); }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(requestStream, responseStream, context).ConfigureAwait(false); }
        catch (HostException e) { throw ToRpc(e); }
    }
}
