using System.Management.Automation;
using System.Management.Automation.Internal;
using System.Management.Automation.Remoting.Client;
using System.Management.Automation.Runspaces;
using Grpc.Net.Client;

namespace HyperSharp.PowerShell.Direct;

/// <summary>
/// Where a PowerShell Direct runspace goes: a VM of a HyperSharp host, reached through the host's GuestPowerShell call
/// (PowerShell 7.3 and later let a connection info bring its own transport). ComputerName is the VM's name, as in a
/// Hyper-V PowerShell Direct session.
/// </summary>
public sealed class VmConnectionInfo : RunspaceConnectionInfo
{
    private readonly GrpcChannel _channel;
    private readonly RefusalNote _refusal;

    internal VmConnectionInfo(GrpcChannel channel, string vmName, string vmId, PSCredential? credential, RefusalNote? refusal = null)
    {
        _channel = channel;
        _refusal = refusal ?? new RefusalNote();
        ComputerName = vmName;
        VMId = vmId;
        Credential = credential;
        // PowerShell starting in a guest on an emulated CPU takes far longer than a remote server's answer usually does.
        OpenTimeout = (int)TimeSpan.FromMinutes(10).TotalMilliseconds;
    }

    public override string ComputerName { get; set; }

    /// <summary>The VM's ID on its host (empty when it was named).</summary>
    public string VMId { get; }

    public override PSCredential? Credential { get; set; }

    public override AuthenticationMechanism AuthenticationMechanism
    {
        get => AuthenticationMechanism.Default;
        set { if (value != AuthenticationMechanism.Default) throw new PSNotSupportedException("PowerShell Direct has one authentication: the guest account of -Credential, checked by the guest agent"); }
    }

    public override string CertificateThumbprint
    {
        get => "";
        set => throw new PSNotSupportedException("PowerShell Direct does not use certificates: the host connection is already authenticated");
    }

    /// <summary>
    /// Why the host refused the session (the VM is off, its agent does not answer...), once it has; shared with this
    /// info's clones, since PowerShell may open the runspace on a copy. The opener reports it rather than the exception
    /// PowerShell raises: when PowerShell writes to the closed transport before it hears of the refusal, its exception
    /// says only "an error has occurred which PowerShell cannot handle".
    /// </summary>
    internal string? Refusal { get => _refusal.Reason; set => _refusal.Reason = value; }

    public override RunspaceConnectionInfo Clone() => new VmConnectionInfo(_channel, ComputerName, VMId, Credential, _refusal) { OpenTimeout = OpenTimeout };

    public override BaseClientSessionTransportManager CreateClientSessionTransportManager(Guid instanceId, string sessionName, PSRemotingCryptoHelper cryptoHelper) =>
        new VmSessionTransport(instanceId, cryptoHelper, new HyperSharp.Api.V1.GuestPowerShell.GuestPowerShellClient(_channel), this);
}

/// <summary>The host's refusal of one session, shared by a connection info and its clones.</summary>
internal sealed class RefusalNote
{
    private volatile string? _reason;

    public string? Reason { get => _reason; set => _reason = value; }
}
