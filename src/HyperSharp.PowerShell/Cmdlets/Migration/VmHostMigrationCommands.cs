using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Migration;

/// <summary>What Set-VMHost, Enable- and Disable-VMMigration share: one SetHost call, the host written out with -Passthru.</summary>
public abstract class VmHostChangeCmdlet : HyperSharpCmdlet
{
    [Parameter(HelpMessage = "Writes the host, as Get-VMHost shows it after the change, to the pipeline.")]
    public SwitchParameter Passthru { get; set; }

    protected abstract SetHostRequest Request();

    protected override void ProcessRecord()
    {
        var request = Request();
        if (!ShouldProcess(HostName, MyInvocation.MyCommand.Name)) return;
        if (TryCall(c => VmHostClient.LiveMigration.SetHost(request, cancellationToken: c), HostName, out var info) && Passthru) WriteObject(info.ToObject());
    }
}

[Cmdlet(VerbsCommon.Set, "VMHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMHost))]
[CmdletHelp("Configures the virtualization host.",
    "Changes the host's live-migration settings given: how migrations authenticate (mutual TLS with the host certificates of `hyper host certs`; Hyper-V's CredSSP and Kerberos are refused), whether the stream is compressed, how many live migrations run at once (more wait their turn), and whether any network may carry them. The host keeps them across restarts.")]
[CmdletExample("Set-VMHost -MaximumVirtualMachineMigrations 4 -VirtualMachineMigrationPerformanceOption TCPIP", "Lets four live migrations run at once, uncompressed.")]
public sealed class SetVmHostCommand : VmHostChangeCmdlet
{
    [Parameter(HelpMessage = "How live migrations authenticate: MutualTls (the host certificates `hyper host certs` makes). CredSSP and Kerberos are Hyper-V's and are refused.")]
    public MigrationAuthenticationType? VirtualMachineMigrationAuthenticationType { get; set; }

    [Parameter(HelpMessage = "How the migration stream travels: TCPIP (as it is) or Compression (compressed; the default).")]
    public VMMigrationPerformance? VirtualMachineMigrationPerformanceOption { get; set; }

    [Parameter(HelpMessage = "How many live migrations run at once (1-64, default 2); more wait their turn.")]
    public long? MaximumVirtualMachineMigrations { get; set; }

    [Parameter(HelpMessage = "Whether any network may carry live migrations. This host has no list of migration networks yet: the stream goes to the address the destination host serves its API on either way.")]
    public bool? UseAnyNetworkForMigration { get; set; }

    protected override SetHostRequest Request()
    {
        var request = new SetHostRequest();
        if (VirtualMachineMigrationAuthenticationType is { } auth)
        {
            if (auth != MigrationAuthenticationType.MutualTls)
                ThrowParameterError(nameof(VirtualMachineMigrationAuthenticationType), $"{auth} is Hyper-V's; HyperSharp hosts authenticate live migrations with mutual TLS: give MutualTls (the certificates of `hyper host certs`)", auth);
            request.VirtualMachineMigrationAuthenticationType = Api.V1.MigrationAuthenticationType.MutualTls;
        }
        if (VirtualMachineMigrationPerformanceOption is { } performance)
            request.VirtualMachineMigrationPerformanceOption = performance == VMMigrationPerformance.TCPIP ? MigrationPerformanceOption.Tcpip : MigrationPerformanceOption.Compression;
        if (MaximumVirtualMachineMigrations is { } maximum)
        {
            if (maximum is < 1 or > int.MaxValue) ThrowParameterError(nameof(MaximumVirtualMachineMigrations), $"{maximum} is out of range: give 1 to 64 simultaneous live migrations", maximum);
            request.MaximumVirtualMachineMigrations = (int)maximum;
        }
        if (UseAnyNetworkForMigration is { } any) request.UseAnyNetworkForMigration = any;
        return request;
    }
}

[Cmdlet(VerbsLifecycle.Enable, "VMMigration", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMHost))]
[CmdletHelp("Enables live migration on the host.",
    "Lets the host send its running virtual machines to other HyperSharp hosts (Move-VM) and take theirs. Both hosts must have it enabled and trust each other's certificates.")]
[CmdletExample("Enable-VMMigration", "Enables live migration on this host.")]
public sealed class EnableVmMigrationCommand : VmHostChangeCmdlet
{
    protected override SetHostRequest Request() => new() { VirtualMachineMigrationEnabled = true };
}

[Cmdlet(VerbsLifecycle.Disable, "VMMigration", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VMHost))]
[CmdletHelp("Disables live migration on the host.",
    "The host neither sends nor takes virtual machines by live migration until it is enabled again; Move-VM to or from it is refused.")]
[CmdletExample("Disable-VMMigration -Passthru", "Disables live migration and shows the host's settings.")]
public sealed class DisableVmMigrationCommand : VmHostChangeCmdlet
{
    protected override SetHostRequest Request() => new() { VirtualMachineMigrationEnabled = false };
}
