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

    internal VmConnectionInfo(GrpcChannel channel, string vmName, string vmId, PSCredential? credential)
    {
        _channel = channel;
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

    public override RunspaceConnectionInfo Clone() => new VmConnectionInfo(_channel, ComputerName, VMId, Credential) { OpenTimeout = OpenTimeout };

    public override BaseClientSessionTransportManager CreateClientSessionTransportManager(Guid instanceId, string sessionName, PSRemotingCryptoHelper cryptoHelper) =>
        new VmSessionTransport(instanceId, cryptoHelper, new HyperSharp.Api.V1.GuestPowerShell.GuestPowerShellClient(_channel), this);
}
