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

    [Parameter(HelpMessage = "The Hyper-V host to run the command on: this computer (the default), or one remote host reached over mutual TLS with the certificates in $env:HYPERSHARP_TLS_DIR (port $env:HYPERSHARP_HOST_PORT, default 7443).")]
    [ValidateNotNullOrEmpty]
    public string[] ComputerName { get; set; } = ["localhost"];

    protected CancellationToken Cancellation => _stopping.Token;

    /// <summary>The computer name the host reports objects under.</summary>
    protected string HostName => Environment.MachineName;

    protected VmHost.VmHostClient VmHostClient => new(Channel);

    protected VhdService.VhdServiceClient VhdClient => new(Channel);

    protected FailoverCluster.FailoverClusterClient ClusterClient => new(Channel);

    protected ClusterMaintenance.ClusterMaintenanceClient ClusterMaintenanceClient => new(Channel);

    /// <summary>The remote host named by -ComputerName, or null for this computer.</summary>
    private Uri? _remote;

    private Grpc.Net.Client.GrpcChannel Channel => _remote is { } remote ? HostConnection.ForRemote(remote) : HostConnection.For(SocketPath);

    private string SocketPath => _socketPath ??= HostEndpoint.ResolveSocketPath(
        GetVariableValue(HostConnection.SocketVariable) is { } v && v.ToString() is { Length: > 0 } s ? s : null);

    protected override void BeginProcessing()
    {
        var remote = ComputerName.Where(name => !HostConnection.IsLocal(name)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        if (remote.Length == 0)
        {
            // HYPERSHARP_HOST_ADDRESS, as the CLI reads it, unless this session named its own socket.
            if (GetVariableValue(HostConnection.SocketVariable) is null) _remote = HostConnection.RemoteFromEnvironment();
            return;
        }
        if (remote.Length > 1 || ComputerName.Length > 1)
            ThrowTerminatingError(new ErrorRecord(
                new PSArgumentException("give one computer at a time: each command talks to one host", nameof(ComputerName)),
                "OneHostAtATime", ErrorCategory.InvalidArgument, ComputerName));
        try { _remote = HostConnection.RemoteAddress(remote[0]); }
        catch (InvalidOperationException e)
        {
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException(e.Message, nameof(ComputerName)), "RemoteHostNeedsTls", ErrorCategory.InvalidArgument, remote[0]));
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
    protected IEnumerable<VirtualMachine> Resolve(string name) => ResolveNamed(name,
        c => VmHostClient.GetVm(new VmRef { Name = name }, cancellationToken: c).ToObject(HostName),
        (filter, c) => VmHostClient.ListVms(new ListVmsRequest { Name = filter }, cancellationToken: c).Vms.Select(vm => vm.ToObject(HostName)));

    /// <summary>The virtual switches a name (maybe with wildcards) stands for; writes ObjectNotFound for a plain name that matches none.</summary>
    protected IEnumerable<VMSwitch> ResolveSwitch(string name) => ResolveNamed(name,
        c => VmHostClient.Networking.GetSwitch(new SwitchRef { Name = name }, cancellationToken: c).ToObject(HostName),
        (filter, c) => VmHostClient.Networking.ListSwitches(new ListSwitchesRequest { Name = filter }, cancellationToken: c).Switches.Select(s => s.ToObject(HostName)));

    /// <summary>
    /// A plain name is one Get call (the host's NOT_FOUND becomes the ObjectNotFound error Hyper-V writes); a name with
    /// wildcards is one List call with the host filtering, and matching nothing is no error, as in Hyper-V.
    /// </summary>
    private IEnumerable<T> ResolveNamed<T>(string name, Func<CancellationToken, T> get, Func<string, CancellationToken, IEnumerable<T>> list)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(name))
        {
            if (TryCall(get, name, out var one)) yield return one;
            yield break;
        }
        // Materialized inside the call, so a failure is reported here and not while the caller enumerates.
        if (!TryCall(c => list(name == "*" ? "" : name, c).ToList(), name, out var all)) yield break;
        foreach (var item in all) yield return item;
    }

    /// <summary>A -Path value as the file system path the host sees: relative to the current location, ~ expanded.</summary>
    protected string ResolveFilePath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>The non-terminating ObjectNotFound error for something a plain name named that the host does not have.</summary>
    protected void WriteNotFound(string message, object? target) =>
        WriteError(new ErrorRecord(new ItemNotFoundException(message), "ObjectNotFound", ErrorCategory.ObjectNotFound, target));

    /// <summary>A terminating error for a parameter combination the cmdlet itself refuses.</summary>
    protected void ThrowParameterError(string parameter, string message, object? target) =>
        ThrowTerminatingError(new ErrorRecord(new PSArgumentException(message, parameter), "InvalidParameter", ErrorCategory.InvalidArgument, target));
}
