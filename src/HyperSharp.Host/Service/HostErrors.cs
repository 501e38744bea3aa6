using Grpc.Core;
using HyperSharp.Api;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service;

/// <summary>The API's errors as the contract defines them (see hypersharp_host.proto): one factory per status code.</summary>
public static class HostErrors
{
    /// <summary>INVALID_ARGUMENT naming <paramref name="parameter"/> in the message and in the "hypersharp-parameter" trailer.</summary>
    public static RpcException Invalid(string parameter, string problem) =>
        new(new Status(StatusCode.InvalidArgument, $"{parameter}: {problem}"), new Metadata { { HostEndpoint.ParameterTrailer, parameter } });

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Status(StatusCode.AlreadyExists, message));

    public static RpcException WrongState(string vmName, VmState state, string operation) =>
        new(new Status(StatusCode.FailedPrecondition, $"cannot {operation} VM '{vmName}': it is {StateNames.Of(state)}"));

    public static RpcException Precondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException Busy(string vmName, string operation) =>
        new(new Status(StatusCode.Aborted, $"VM '{vmName}' is busy: another request is {operation} it; try again when it has finished"));

    public static RpcException Timeout(string message) => new(new Status(StatusCode.DeadlineExceeded, message));

    public static RpcException PermissionDenied(string message) => new(new Status(StatusCode.PermissionDenied, message));

    public static RpcException Internal(string message) => new(new Status(StatusCode.Internal, message));
}

/// <summary>Hyper-V's names for VM states, as messages and the CLI print them.</summary>
public static class StateNames
{
    public static string Of(VmState state) => state == VmState.Unspecified ? "Unknown" : state.ToString();
}
