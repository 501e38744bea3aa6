using System.Text;
using HyperSharp.Host.Platform;
using HyperSharp.Host.Service;
using static HyperSharp.Web.Pages.Layout;

namespace HyperSharp.Web.Pages;

/// <summary>The front page: the host (processors, memory, VMs, switches, version) and the VM list, kept live by app.js.</summary>
internal static class HostPage
{
    /// <param name="notice">a status line on top (where a VM just moved)</param>
    public static async Task<string> RenderAsync(VmManager manager, string antiForgery, CancellationToken cancellationToken, string? notice = null)
    {
        var vms = manager.List(null);
        var rows = await Task.WhenAll(vms.Select(vm => VmProjection.ToVmAsync(vm, manager.Switches, cancellationToken))).ConfigureAwait(false);
        var switches = manager.Switches.List();
        var html = new StringBuilder(4096 + rows.Length * 400);
        html.Append("<h1>").Append(H(Environment.MachineName)).Append("</h1><section aria-labelledby=\"host-h\"><h2 id=\"host-h\">Host</h2><dl class=\"facts\">")
            .Append("<dt>Logical processors</dt><dd id=\"host-processors\">").Append(Environment.ProcessorCount).Append("</dd>")
            .Append("<dt>Memory</dt><dd id=\"host-memory\">").Append(HostMemory.TotalBytes() >> 20).Append(" MB</dd>")
            .Append("<dt>Virtual machines</dt><dd id=\"host-vms\">").Append(vms.Count).Append("</dd>")
            .Append("<dt>Virtual switches</dt><dd id=\"host-switches\"><a href=\"/switches\">").Append(switches.Count == 0 ? "none" : H(string.Join(", ", switches.Select(s => s.Name)))).Append("</a></dd>")
            .Append("<dt>Version</dt><dd id=\"host-version\">").Append(H(typeof(VmManager).Assembly.GetName().Version?.ToString() ?? "0.0")).Append("</dd>")
            .Append("<dt>Virtual machine path</dt><dd>").Append(H(manager.InventoryRoot)).Append("</dd></dl></section>");
        html.Append(UsageCharts.Render("/usage", "all VMs"));
        html.Append("<section aria-labelledby=\"vms-h\"><h2 id=\"vms-h\">Virtual machines</h2><table id=\"vms\" data-live=\"/events?usage=host\"><thead><tr>");
        foreach (var (_, heading) in VmRow.Columns) html.Append("<th scope=\"col\">").Append(H(heading)).Append("</th>");
        html.Append("</tr></thead><tbody>");
        foreach (var vm in rows) AppendRow(html, VmRow.From(vm));
        html.Append("</tbody></table></section>");
        return Page(Environment.MachineName, antiForgery, html.ToString(), notice: notice, charts: true);
    }

    private static void AppendRow(StringBuilder html, VmRow row)
    {
        html.Append("<tr data-vm=\"").Append(H(row.Id)).Append("\">");
        foreach (var (field, _) in VmRow.Columns)
        {
            html.Append("<td data-field=\"").Append(field).Append("\">");
            if (field == "name") html.Append("<a href=\"/vms/").Append(H(row.Id)).Append("\">").Append(H(row.Name)).Append("</a>");
            else html.Append(H(row.Field(field)));
            html.Append("</td>");
        }
        html.Append("</tr>");
    }
}
