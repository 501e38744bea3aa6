using HyperSharp.Api.V1;
using HyperSharp.Host.Service;

namespace HyperSharp.Web.Pages;

/// <summary>
/// One line of the VM list as people read it (Hyper-V Manager's columns), made in one place for the page and for the
/// live updates, so the two never format a figure differently.
/// </summary>
internal sealed record VmRow(string Id, string Name, string State, string Cpu, string Memory, string Uptime, string Heartbeat, string Status)
{
    /// <summary>The columns in order, with their headings: the page's table and app.js's updates follow this list.</summary>
    public static readonly (string Field, string Heading)[] Columns =
        [("name", "Name"), ("state", "State"), ("cpu", "CPU usage"), ("memory", "Assigned memory"), ("uptime", "Uptime"), ("heartbeat", "Heartbeat"), ("status", "Status")];

    public static VmRow From(Vm vm)
    {
        bool live = vm.State is not (VmState.Off or VmState.Saved);
        return new VmRow(vm.Id, vm.Name, VmProjection.StateName(vm.State),
            live ? $"{vm.CpuUsagePercent:0} %" : "",
            live && vm.MemoryAssignedBytes > 0 ? $"{vm.MemoryAssignedBytes >> 20} MB" : "",
            live && vm.UptimeMs > 0 ? FormatUptime(vm.UptimeMs) : "",
            vm.Heartbeat, vm.Status);
    }

    public string Field(string field) => field switch
    {
        "name" => Name, "state" => State, "cpu" => Cpu, "memory" => Memory, "uptime" => Uptime, "heartbeat" => Heartbeat, "status" => Status,
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, "not a column of the VM list"),
    };

    private static string FormatUptime(long ms)
    {
        var t = TimeSpan.FromMilliseconds(ms);
        return t.Days > 0 ? $"{t.Days}.{t:hh\\:mm\\:ss}" : t.ToString(@"hh\:mm\:ss");
    }
}
