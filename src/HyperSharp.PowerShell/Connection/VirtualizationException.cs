using System.Management.Automation;
using Grpc.Core;
using HyperSharp.Api;

namespace HyperSharp.PowerShell;

/// <summary>
/// What went wrong in a call to the host, carried in the cmdlet's ErrorRecord: the host's message,
/// its status, and for INVALID_ARGUMENT the request field the host named.
/// </summary>
public sealed class VirtualizationException(string message, StatusCode status, string? parameter, Exception? inner = null)
    : Exception(message, inner)
{
    public StatusCode Status { get; } = status;

    /// <summary>The API field that was wrong (new_vhd_size_bytes, size_bytes, ...), when the host named one.</summary>
    public string? Parameter { get; } = parameter;
}

/// <summary>Turns a failed call into an ErrorRecord whose category a script can test (`$_.CategoryInfo.Category`).</summary>
internal static class HostErrors
{
    public static ErrorRecord ToErrorRecord(RpcException e, object? target)
    {
        string? parameter = e.Trailers.GetValue(HostEndpoint.ParameterTrailer);
        string message = e.StatusCode switch
        {
            StatusCode.Unavailable => UnavailableMessage(e),
            // A host older than the module has no such call; gRPC says so with an empty detail.
            StatusCode.Unimplemented => "the HyperSharp host service does not support this command: it runs an older version than this module",
            _ => e.Status.Detail,
        };
        var exception = new VirtualizationException(message, e.StatusCode, parameter, e);
        var (id, category) = Classify(e.StatusCode);
        return new ErrorRecord(exception, id, category, target);
    }

    public static (string Id, ErrorCategory Category) Classify(StatusCode status) => status switch
    {
        StatusCode.InvalidArgument => ("InvalidParameter", ErrorCategory.InvalidArgument),
        StatusCode.NotFound => ("ObjectNotFound", ErrorCategory.ObjectNotFound),
        StatusCode.AlreadyExists => ("ResourceExists", ErrorCategory.ResourceExists),
        StatusCode.FailedPrecondition => ("InvalidState", ErrorCategory.InvalidOperation),
        StatusCode.Aborted => ("OperationAborted", ErrorCategory.ResourceBusy),
        StatusCode.PermissionDenied or StatusCode.Unauthenticated => ("AccessDenied", ErrorCategory.PermissionDenied),
        StatusCode.Unavailable => ("HostUnavailable", ErrorCategory.ConnectionError),
        StatusCode.Unimplemented => ("NotSupportedByHost", ErrorCategory.NotImplemented),
        StatusCode.Cancelled or StatusCode.DeadlineExceeded => ("OperationStopped", ErrorCategory.OperationStopped),
        _ => ("Unspecified", ErrorCategory.NotSpecified),
    };

    /// <summary>The socket-level reason (nobody listening, no permission) instead of gRPC's generic text.</summary>
    private static string UnavailableMessage(RpcException e)
    {
        for (Exception? inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
            if (inner is HostUnavailableException h) return h.Message;
        return $"the HyperSharp host service is unavailable: {e.Status.Detail}";
    }
}
