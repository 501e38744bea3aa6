using HyperSharp.Vhdx;

namespace HyperSharp.Cli;

/// <summary>
/// Runs a command body and turns failures into one line on stderr and a non-zero exit code:
/// 1 for a failed operation, 2 for a bad command line. Stack traces only with HYPER_DEBUG=1.
/// </summary>
public static class CliAction
{
    public const int Failed = 1;
    public const int Usage = 2;

    public static int Run(CliContext context, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (Expected(e))
        {
            context.Error.WriteLine($"hyper: {Describe(e)}");
            if (context.Debug) context.Error.WriteLine(e);
            return e is UsageException ? Usage : Failed;
        }
        catch (Exception e)
        {
            // A bug, not a user error: still one line, but say so.
            context.Error.WriteLine($"hyper: internal error ({e.GetType().Name}): {e.Message} (set HYPER_DEBUG=1 for details)");
            if (context.Debug) context.Error.WriteLine(e);
            return Failed;
        }
    }

    private static bool Expected(Exception e) => e is VirtualDiskException or UsageException or IOException
        or UnauthorizedAccessException or ArgumentException or NotSupportedException or OperationCanceledException
        or HyperSharp.Machine.Boot.KernelImageException or HyperSharp.Hypervisor.HypervisorException
        or HyperSharp.Networking.Links.NetworkSetupException;

    /// <summary>The message as the library wrote it, without .NET's "(Parameter 'x')" suffix.</summary>
    private static string Describe(Exception e) => e switch
    {
        ArgumentException a when a.ParamName is not null => a.Message.Replace($" (Parameter '{a.ParamName}')", ""),
        OperationCanceledException => "cancelled",
        _ => e.Message,
    };
}
