using System.Text;
using HyperSharp.Api.V1;
using static HyperSharp.Web.Pages.Layout;

namespace HyperSharp.Web.Pages;

/// <summary>
/// Virtual Switch Manager: the host's switches (type, what they connect to on the host, adapters on them, traffic), each
/// with its name and notes editable and a Remove that asks first, and a form for a new External, Internal or Private
/// switch. The host checks everything (New-VMSwitch's checks): a refusal shows its message above the form, as typed.
/// </summary>
internal static class SwitchesPage
{
    /// <summary>The switch types in Hyper-V Manager's order, with what each one connects.</summary>
    public static readonly (string Type, string Label)[] Types =
    [
        ("External", "External (bridged to a host adapter)"), ("Internal", "Internal (the VMs and this host)"), ("Private", "Private (the VMs only)"),
    ];

    public static string Render(IReadOnlyList<VmSwitch> switches, IReadOnlyList<string> hostAdapters, string antiForgery, IReadOnlyDictionary<string, string> given, string? error)
    {
        var html = new StringBuilder(4096 + switches.Count * 1200);
        html.Append("<h1>Virtual switch manager</h1><section aria-labelledby=\"switches-h\"><h2 id=\"switches-h\">Virtual switches</h2>");
        if (switches.Count == 0) html.Append("<p id=\"switches\">None.</p>");
        else
        {
            html.Append("<table id=\"switches\"><thead><tr>");
            foreach (var heading in new[] { "Name", "Type", "Connects to", "Adapters", "Frames forwarded", "Frames dropped", "Notes" })
                html.Append("<th scope=\"col\">").Append(heading).Append("</th>");
            html.Append("</tr></thead><tbody>");
            foreach (var s in switches)
                html.Append("<tr data-switch=\"").Append(H(s.Name)).Append("\"><td><a href=\"#sw-").Append(H(s.Id)).Append("\">").Append(H(s.Name)).Append("</a></td><td>")
                    .Append(s.SwitchType).Append("</td><td>").Append(H(ConnectsTo(s))).Append("</td><td>").Append(s.ConnectedAdapterCount).Append("</td><td>")
                    .Append(s.FramesForwarded).Append("</td><td>").Append(s.FramesDropped).Append("</td><td>").Append(H(s.Notes)).Append("</td></tr>");
            html.Append("</tbody></table>");
        }
        html.Append("</section>");
        foreach (var s in switches) AppendProperties(html, s, antiForgery);
        AppendNew(html, hostAdapters, antiForgery, given);
        return Page("Virtual switch manager", antiForgery, html.ToString(), error);
    }

    private static string ConnectsTo(VmSwitch s) => s.SwitchType switch
    {
        SwitchType.External => $"host adapter {s.NetAdapterName}",
        SwitchType.Internal => $"host interface {s.HostInterfaceName}",
        _ => "the VMs only",
    };

    /// <summary>One switch's name and notes (Set-/Rename-VMSwitch) and its removal.</summary>
    private static void AppendProperties(StringBuilder html, VmSwitch s, string antiForgery)
    {
        string id = H(s.Id), at = $"/switches/{s.Id}";
        string adapters = s.ConnectedAdapterCount switch
        {
            0 => "No network adapter is connected to it.",
            1 => "The network adapter connected to it is disconnected.",
            var n => $"The {n} network adapters connected to it are disconnected.",
        };
        string hostSide = s.SwitchType switch
        {
            SwitchType.External => $" Host adapter {s.NetAdapterName} is no longer bridged to the VMs: pending changes may disrupt network connectivity.",
            SwitchType.Internal => $" Host interface {s.HostInterfaceName} goes with it: pending changes may disrupt network connectivity.",
            _ => "",
        };
        html.Append("<section id=\"sw-").Append(id).Append("\" aria-labelledby=\"sw-").Append(id).Append("-h\" data-switch-properties=\"").Append(H(s.Name)).Append("\"><h2 id=\"sw-").Append(id).Append("-h\">")
            .Append(H(s.Name)).Append(" <small>").Append(s.SwitchType).Append(" switch</small></h2>")
            .Append("<form method=\"post\" action=\"").Append(at).Append("\" class=\"settings\">").Append(AntiForgeryField(antiForgery))
            .Append("<label for=\"sw-").Append(id).Append("-name\">Name</label><input id=\"sw-").Append(id).Append("-name\" name=\"name\" required value=\"").Append(H(s.Name)).Append("\">")
            .Append("<label for=\"sw-").Append(id).Append("-notes\">Notes</label><input id=\"sw-").Append(id).Append("-notes\" name=\"notes\" value=\"").Append(H(s.Notes)).Append("\">")
            .Append("<span></span><button type=\"submit\">Apply</button></form>")
            .Append(Button($"{at}/delete", "Remove", antiForgery,
                $"Remove virtual switch '{s.Name}'? {adapters}{hostSide}"))
            .Append("</section>");
    }

    /// <summary>New-VMSwitch: the type decides which of the host-side fields count (the host says so when one does not fit).</summary>
    private static void AppendNew(StringBuilder html, IReadOnlyList<string> hostAdapters, string antiForgery, IReadOnlyDictionary<string, string> given)
    {
        string V(string field) => H(given.TryGetValue(field, out var v) ? v : "");
        string type = given.TryGetValue("type", out var t) ? t : "Private";
        html.Append("<section aria-labelledby=\"new-switch-h\"><h2 id=\"new-switch-h\">New virtual switch</h2><form method=\"post\" action=\"/switches\" class=\"settings\" id=\"new-switch\">")
            .Append(AntiForgeryField(antiForgery))
            .Append("<label for=\"ns-name\">Name</label><input id=\"ns-name\" name=\"name\" required value=\"").Append(V("name")).Append("\">")
            .Append("<label for=\"ns-type\">Connection type</label><select id=\"ns-type\" name=\"type\">");
        foreach (var (value, label) in Types)
            html.Append("<option value=\"").Append(value).Append('"').Append(value == type ? " selected" : "").Append('>').Append(label).Append("</option>");
        html.Append("</select>")
            .Append("<label for=\"ns-adapter\">Host adapter (External)</label><input id=\"ns-adapter\" name=\"adapter\" list=\"host-adapters\" value=\"").Append(V("adapter")).Append("\"><datalist id=\"host-adapters\">");
        foreach (var adapter in hostAdapters) html.Append("<option value=\"").Append(H(adapter)).Append("\">");
        html.Append("</datalist>")
            .Append("<label for=\"ns-interface\">Host interface name (Internal; empty: hs- and the name)</label><input id=\"ns-interface\" name=\"interface\" value=\"").Append(V("interface")).Append("\">")
            .Append("<label for=\"ns-notes\">Notes</label><input id=\"ns-notes\" name=\"notes\" value=\"").Append(V("notes")).Append("\">")
            .Append("<span></span><button type=\"submit\">Create</button></form></section>");
    }
}
