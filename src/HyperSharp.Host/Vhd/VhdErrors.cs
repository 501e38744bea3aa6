using Grpc.Core;
using HyperSharp.Host.Service;
using HyperSharp.Vhdx;

namespace HyperSharp.Host.Vhd;

/// <summary>
/// Turns what the storage library throws into the API's statuses. Requests are validated before the
/// library runs, so what arrives here is about the files: missing, corrupt, in use, or refused.
/// </summary>
internal static class VhdErrors
{
    public static async Task<T> Guard<T>(Func<Task<T>> call)
    {
        try { return await call().ConfigureAwait(false); }
        catch (Exception e) when (e is not HostException) { throw Map(e); }
    }

    public static async Task Guard(Func<Task> call)
    {
        try { await call().ConfigureAwait(false); }
        catch (Exception e) when (e is not HostException) { throw Map(e); }
    }

    public static HostException Map(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => HostErrors.NotFound(e.Message),
        UnauthorizedAccessException => HostErrors.PermissionDenied(e.Message),
        OperationCanceledException => HostErrors.Cancelled("the operation was cancelled"),
        ArgumentOutOfRangeException { ParamName: "capacity" } => HostErrors.Invalid("size_bytes", e.Message),
        ArgumentException a => HostErrors.Invalid(a.ParamName ?? "request", e.Message),
        // The path names no image of its format (a FIFO, a device, random bytes named .vhdx): the request is wrong, not the file's state.
        ImageKindException or ImageFormatException => HostErrors.Invalid("path", e.Message),
        // Corrupt images, refused shrinks, "not a differencing disk": the file's state does not allow the request.
        VirtualDiskException => HostErrors.Precondition(e.Message),
        // Locked by a running VM or another tool, disk full.
        IOException => HostErrors.Precondition(e.Message),
        _ => HostErrors.Internal($"{e.GetType().Name}: {e.Message}"),
    };
}
