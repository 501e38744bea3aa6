using System.Management.Automation;
using Grpc.Core;
using HyperSharp.Api;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell;

/// <summary>
/// What every HyperSharp cmdlet shares: the connection to the host (see <see cref="HostConnection"/>),
/// cancellation on Ctrl-C, and the turning of host errors into ErrorRecords — non-terminating per
/// object as Hyper-V's cmdlets are, terminating when the host cannot be reached at all.
/// </summary>
public abstract class HyperSharpCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _stopping = new();
    private string? _socketPath;

    [Parameter(HelpMessage = "The Hyper-V host to run the command on. Only this computer is supported (local names: localhost, '.', the host name); the default is this computer.")]
    [ValidateNotNullOrEmpty]
    public string[] ComputerName { get; set; } = ["localhost"];

    protected CancellationToken Cancellation => _stopping.Token;

    /// <summary>The computer name the host reports objects under.</summary>
    protected string HostName => Environment.MachineName;

    protected VmHost.VmHostClient VmHostClient => new(HostConnection.For(SocketPath));

    protected VhdService.VhdServiceClient VhdClient => new(HostConnection.For(SocketPath));

    private string SocketPath => _socketPath ??= HostEndpoint.ResolveSocketPath(
        GetVariableValue(HostConnection.SocketVariable) is { } v && v.ToString() is { Length: > 0 } s ? s : null);

    protected override void BeginProcessing()
    {
        foreach (var name in ComputerName)
        {
            if (HostConnection.IsLocal(name)) continue;
            ThrowTerminatingError(new ErrorRecord(
                new PSArgumentException($"'{name}' is not this computer: HyperSharp manages the local host only (remote hosts come with clustering)", nameof(ComputerName)),
                "RemoteHostNotSupported", ErrorCategory.InvalidArgument, name));
        }
    }

    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>
    /// Runs one call to the host. On failure writes a non-terminating error about <paramref name="target"/>
    /// and returns false, so the cmdlet goes on with the next object; a host that cannot be reached ends
    /// the command (every further call would fail the same way).
    /// </summary>
    protected bool TryCall<T>(Func<CancellationToken, T> call, object? target, out T result)
    {
        try
        {
            result = call(Cancellation);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && Cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (RpcException e)
        {
            var record = HostErrors.ToErrorRecord(e, target);
            if (e.StatusCode == StatusCode.Unavailable) ThrowTerminatingError(record);
            WriteError(record);
            result = default!;
            return false;
        }
    }

    /// <summary>The VMs a name (maybe with wildcards) stands for; writes ObjectNotFound for a plain name that matches none.</summary>
    protected IEnumerable<VirtualMachine> Resolve(string name)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(name))
        {
            if (TryCall(c => VmHostClient.GetVm(new VmRef { Name = name }, cancellationToken: c), name, out var one)) yield return one.ToObject(HostName);
            yield break;
        }
        if (!TryCall(c => VmHostClient.ListVms(new ListVmsRequest { Name = name == "*" ? "" : name }, cancellationToken: c), name, out var list)) yield break;
        foreach (var vm in list.Vms) yield return vm.ToObject(HostName);
    }

    /// <summary>A -Path value as the file system path the host sees: relative to the current location, ~ expanded.</summary>
    protected string ResolveFilePath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>A terminating error for a parameter combination the cmdlet itself refuses.</summary>
    protected void ThrowParameterError(string parameter, string message, object? target) =>
        ThrowTerminatingError(new ErrorRecord(new PSArgumentException(message, parameter), "InvalidParameter", ErrorCategory.InvalidArgument, target));
}
