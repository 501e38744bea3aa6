using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Cluster;

[Cmdlet(VerbsCommon.New, "Cluster")]
[OutputType(typeof(PowerShell.Cluster))]
[CmdletHelp("Creates a failover cluster.",
    "Writes the cluster and its first nodes into the etcd of the host this runs against (a host started with --cluster-etcd). Each node named joins once its host runs with the same etcd and that --cluster-node name. Refused if etcd already holds a cluster.")]
[CmdletExample("New-Cluster -Name lab -Node a, b, c", "Creates cluster lab with nodes a, b and c, heartbeats every second, a node down after 10 missed.")]
public sealed class NewClusterCommand : HyperSharpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, HelpMessage = "The cluster's name.")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, HelpMessage = "The names of the first nodes (each host's --cluster-node).")]
    [ValidateNotNullOrEmpty]
    public string[] Node { get; set; } = [];

    [Parameter(HelpMessage = "Milliseconds between heartbeats (100 to 2000; default 1000).")]
    public int SameSubnetDelay { get; set; }

    [Parameter(HelpMessage = "Heartbeats missed before a node is down (3 to 120; default 10).")]
    public int SameSubnetThreshold { get; set; }

    protected override void ProcessRecord()
    {
        var request = new NewClusterRequest { Name = Name, SameSubnetDelayMs = SameSubnetDelay, SameSubnetThreshold = SameSubnetThreshold };
        request.Nodes.AddRange(Node);
        if (TryCall(c => ClusterClient.NewCluster(request, cancellationToken: c), Name, out var info)) WriteObject(info.ToObject());
    }
}
