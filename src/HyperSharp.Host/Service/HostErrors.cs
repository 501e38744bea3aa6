using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>What kind of failure a host operation met; the gRPC service's interceptor turns each into its status code.</summary>
public enum HostErrorKind { InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, Busy, Timeout, PermissionDenied, Cancelled, Internal }

/// <summary>
/// A host operation refused or failed: the kind, the message users see, and for a bad argument the parameter it names.
/// The layers below the gRPC service throw only this; <see cref="HostErrorInterceptor"/> maps it to the API's status.
/// </summary>
public sealed class HostException(HostErrorKind kind, string message, string? parameter = null) : Exception(message)
{
    public HostErrorKind Kind { get; } = kind;

    /// <summary>For <see cref="HostErrorKind.InvalidArgument"/>: the parameter that was wrong.</summary>
    public string? Parameter { get; } = parameter;
}

/// <summary>The host's errors, one factory per kind, each with the message the contract (hypersharp_host.proto) describes.</summary>
public static class HostErrors
{
    /// <summary>A bad argument, naming <paramref name="parameter"/> in the message (and, through the interceptor, in the "hypersharp-parameter" trailer).</summary>
    public static HostException Invalid(string parameter, string problem) => new(HostErrorKind.InvalidArgument, $"{parameter}: {problem}", parameter);

    public static HostException NotFound(string message) => new(HostErrorKind.NotFound, message);

    public static HostException AlreadyExists(string message) => new(HostErrorKind.AlreadyExists, message);

    public static HostException WrongState(string vmName, PowerState state, string operation) =>
        new(HostErrorKind.FailedPrecondition, $"cannot {operation} VM '{vmName}': it is {StateNames.Of(state)}");

    public static HostException Precondition(string message) => new(HostErrorKind.FailedPrecondition, message);

    public static HostException Busy(string vmName, string operation) =>
        new(HostErrorKind.Busy, $"VM '{vmName}' is busy: another request is {operation} it; try again when it has finished");

    public static HostException Timeout(string message) => new(HostErrorKind.Timeout, message);

    public static HostException PermissionDenied(string message) => new(HostErrorKind.PermissionDenied, message);

    public static HostException Cancelled(string message) => new(HostErrorKind.Cancelled, message);

    public static HostException Internal(string message) => new(HostErrorKind.Internal, message);
}

/// <summary>Hyper-V's names for VM states, as messages and the CLI print them.</summary>
public static class StateNames
{
    public static string Of(PowerState state) => state == PowerState.Unspecified ? "Unknown" : state.ToString();
}
