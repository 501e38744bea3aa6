using Grpc.Core;
using HyperSharp.Api;

namespace HyperSharp.Host;

/// <summary>
/// The gRPC statuses the API contract promises (hypersharp_host.proto's header): each error says what
/// was wrong, and INVALID_ARGUMENT also names the request field in the <see cref="HostEndpoint.ParameterTrailer"/>
/// trailer so clients (the cmdlets) can point at the parameter the user typed.
/// </summary>
public static class ApiErrors
{
    public static RpcException InvalidArgument(string parameter, string message) =>
        new(new Status(StatusCode.InvalidArgument, message), new Metadata { { HostEndpoint.ParameterTrailer, parameter } });

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException PermissionDenied(string message) => new(new Status(StatusCode.PermissionDenied, message));

    public static RpcException Internal(string message) => new(new Status(StatusCode.Internal, message));

    /// <summary>An absolute path from a request field; INVALID_ARGUMENT naming the field when it is empty or relative.</summary>
    public static string RequireAbsolutePath(string value, string parameter)
    {
        if (string.IsNullOrWhiteSpace(value)) throw InvalidArgument(parameter, $"{parameter} is required");
        // The host does not share the client's working directory, so a relative path would mean something else here.
        if (!Path.IsPathFullyQualified(value)) throw InvalidArgument(parameter, $"{parameter} '{value}' must be an absolute path on the host");
        return Path.GetFullPath(value);
    }
}
