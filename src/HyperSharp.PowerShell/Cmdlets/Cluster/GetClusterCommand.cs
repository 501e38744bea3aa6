using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Cluster;

[Cmdlet(VerbsCommon.Get, "Cluster")]
[OutputType(typeof(PowerShell.Cluster))]
[CmdletHelp("Gets the failover cluster.",
    "Gets the cluster the host is a node of: its name, ClusterFunctionalLevel, SameSubnetDelay and SameSubnetThreshold.")]
[CmdletExample("(Get-Cluster).SameSubnetThreshold", "How many heartbeats a node may miss before it is down.")]
public sealed class GetClusterCommand : HyperSharpCmdlet
{
    protected override void ProcessRecord()
    {
        if (TryCall(c => ClusterClient.GetCluster(new GetClusterRequest(), cancellationToken: c), null, out var info)) WriteObject(info.ToObject());
    }
}
