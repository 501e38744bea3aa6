using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace HyperSharp.PowerShell.Direct;

/// <summary>
/// Opens PowerShell Direct sessions for the module's Invoke-Command, New-PSSession and Enter-PSSession (proxy functions
/// over Microsoft.PowerShell.Core's cmdlets, HyperSharp.PowerShellDirect.psm1): one PSSession per VM, registered like
/// any other (Get-PSSession, Invoke-Command -Session, Remove-PSSession). The host is the one the module's cmdlets use:
/// $HyperSharpHostSocket, then HYPERSHARP_HOST_ADDRESS (a remote host over mutual TLS), then the local socket.
/// A VM that cannot be reached gets a non-terminating error naming it, and the others go on, as in Hyper-V.
/// </summary>
public static class VmSessions
{
    public const string TransportName = "PowerShellDirect";

    public static PSSession[] Open(PSCmdlet cmdlet, string[]? vmName, Guid[]? vmId, PSCredential? credential, string[]? sessionName)
    {
        ArgumentNullException.ThrowIfNull(cmdlet);
        var channel = HostConnection.ForSession(cmdlet.GetVariableValue(HostConnection.SocketVariable)?.ToString());
        var targets = (vmName ?? []).Select(n => (Name: n, Id: "")).Concat((vmId ?? []).Select(id => (Name: id.ToString(), Id: id.ToString()))).ToArray();
        var sessions = new List<PSSession>();
        for (int i = 0; i < targets.Length; i++)
        {
            var info = new VmConnectionInfo(channel, targets[i].Name, targets[i].Id, credential);
            var runspace = RunspaceFactory.CreateRunspace(info, cmdlet.Host, TypeTable.LoadDefaultTypeFiles());
            if (sessionName is { Length: > 0 } && i < sessionName.Length) runspace.Name = sessionName[i];
            try
            {
                runspace.Open();
                sessions.Add(PSSession.Create(runspace, TransportName, cmdlet));
            }
            catch (Exception e) when (e is System.Management.Automation.Remoting.PSRemotingTransportException or System.Management.Automation.Remoting.PSRemotingDataStructureException or InvalidRunspaceStateException)
            {
                runspace.Dispose();
                cmdlet.WriteError(new ErrorRecord(e, "PowerShellDirectSessionFailed", ErrorCategory.OpenError, targets[i].Name)
                {
                    ErrorDetails = new ErrorDetails($"[{targets[i].Name}] {info.Refusal ?? e.Message}"),
                });
            }
        }
        return [.. sessions];
    }
}
