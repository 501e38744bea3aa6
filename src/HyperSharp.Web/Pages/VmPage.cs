using System.Text;
using HyperSharp.Api.V1;
using HyperSharp.Host.Checkpoints;
using HyperSharp.Host.Service;
using HyperSharp.Inventory;
using static HyperSharp.Web.Pages.Layout;

namespace HyperSharp.Web.Pages;

/// <summary>
/// One VM: its state and actions, its settings (editable where Set-VM allows), drives, adapters, integration
/// services, the checkpoint tree, and the serial console (console.js over /vms/ID/console).
/// </summary>
internal static class VmPage
{
    /// <param name="notice">a status line on top (a move's check that found nothing in its way)</param>
    /// <param name="destination">the Move form's destination as typed, kept when the page comes back with a check or a refusal</param>
    public static async Task<string> RenderAsync(VmManager manager, ManagedVm managed, string antiForgery, string? error, CancellationToken cancellationToken, string? notice = null, string? destination = null)
    {
        var vm = await VmProjection.ToVmAsync(managed, manager.Switches, cancellationToken).ConfigureAwait(false);
        var row = VmRow.From(vm);
        string id = H(vm.Id), at = $"/vms/{vm.Id}";
        var html = new StringBuilder(8192);
        html.Append("<h1 id=\"vm-name\">").Append(H(vm.Name)).Append("</h1>");
        html.Append("<section aria-labelledby=\"state-h\" data-vm=\"").Append(id).Append("\" data-live=\"/events?usage=").Append(id).Append("\"><h2 id=\"state-h\">State</h2><dl class=\"facts\">");
        foreach (var (field, heading) in VmRow.Columns.Skip(1))
            html.Append("<dt>").Append(H(heading)).Append("</dt><dd data-field=\"").Append(field).Append("\" id=\"vm-").Append(field).Append("\">").Append(H(row.Field(field))).Append("</dd>");
        html.Append("</dl><div class=\"actions\" role=\"group\" aria-label=\"Actions\">");
        html.Append(Button($"{at}/start", "Start", antiForgery))
            .Append(Button($"{at}/shutdown", "Shut down", antiForgery, $"Shut down '{vm.Name}'? The guest is asked to shut down."))
            .Append(Button($"{at}/turnoff", "Turn off", antiForgery, $"Turn off '{vm.Name}'? Unsaved data in the guest is lost."))
            .Append(Button($"{at}/save", "Save", antiForgery))
            .Append(Button($"{at}/pause", "Pause", antiForgery))
            .Append(Button($"{at}/resume", "Resume", antiForgery))
            .Append(Button($"{at}/restart", "Reset", antiForgery, $"Reset '{vm.Name}'? Unsaved data in the guest is lost."))
            .Append(Button($"{at}/checkpoint", "Checkpoint", antiForgery))
            .Append(Button($"{at}/delete", "Delete", antiForgery, $"Delete '{vm.Name}'? Its configuration and checkpoints are removed; its virtual hard disks stay."));
        html.Append("</div></section>");
        html.Append(UsageCharts.Render($"{at}/usage", "this VM"));

        html.Append("<section aria-labelledby=\"console-h\"><h2 id=\"console-h\">Console</h2>");
        html.Append("<div id=\"console\" class=\"terminal\" data-socket=\"").Append(at).Append("/console\" data-running=\"")
            .Append(vm.State is VmState.Running or VmState.Paused ? "true" : "false").Append("\" role=\"region\" aria-label=\"Serial console of ").Append(H(vm.Name)).Append("\"></div>");
        html.Append("<p id=\"console-status\" aria-live=\"polite\"></p></section>");

        AppendSettings(html, vm, at, antiForgery);
        AppendMemory(html, managed, at, antiForgery);
        AppendHardware(html, vm, managed, [.. manager.Switches.List().Select(sw => sw.Name)], at, antiForgery);
        AppendCheckpoints(html, managed, at, antiForgery);
        AppendMove(html, vm, at, antiForgery, destination);
        return Page(vm.Name, antiForgery, html.ToString(), error, script: "console.js", notice: notice, charts: true);
    }

    /// <summary>
    /// The network adapters, each with the switch it is on (a change connects, moves or disconnects it) and Remove, and a
    /// form that adds one: Hyper-V Manager's adapter settings, live on a running VM as the host does them.
    /// </summary>
    private static void AppendAdapters(StringBuilder html, Vm vm, List<string> switches, string at, string antiForgery)
    {
        html.Append("<section aria-labelledby=\"nics-h\"><h2 id=\"nics-h\">Network adapters</h2>");
        if (vm.NetworkAdapters.Count == 0) html.Append("<p>None.</p>");
        else
        {
            html.Append("<table id=\"adapters\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Switch</th><th scope=\"col\">MAC address</th><th scope=\"col\">IP addresses</th><th scope=\"col\">Remove</th></tr></thead><tbody>");
            foreach (var a in vm.NetworkAdapters)
            {
                string field = $"<input type=\"hidden\" name=\"adapter\" value=\"{H(a.Id)}\">";
                html.Append("<tr data-adapter=\"").Append(H(a.Name)).Append("\"><td>").Append(H(a.Name)).Append("</td><td>")
                    .Append("<form method=\"post\" action=\"").Append(at).Append("/adapters/connect\" class=\"inline\">").Append(AntiForgeryField(antiForgery)).Append(field)
                    .Append("<select name=\"switch\" aria-label=\"Virtual switch of ").Append(H(a.Name)).Append("\">");
                AppendSwitchOptions(html, switches, a.SwitchName);
                html.Append("</select> <button type=\"submit\">Connect</button></form></td><td>").Append(H(a.MacAddress)).Append("</td><td>")
                    .Append(H(string.Join(", ", a.IpAddresses))).Append("</td><td>")
                    .Append(Button($"{at}/adapters/remove", "Remove", antiForgery, null, field)).Append("</td></tr>");
            }
            html.Append("</tbody></table>");
        }
        html.Append("<form method=\"post\" action=\"").Append(at).Append("/adapters/add\" class=\"settings\" id=\"add-adapter\">").Append(AntiForgeryField(antiForgery))
            .Append("<label for=\"a-name\">New adapter's name (empty: Network Adapter)</label><input id=\"a-name\" name=\"name\">")
            .Append("<label for=\"a-switch\">Its virtual switch</label><select id=\"a-switch\" name=\"switch\">");
        AppendSwitchOptions(html, switches, "");
        html.Append("</select><span></span><button type=\"submit\">Add network adapter</button></form></section>");
    }

    private static void AppendSwitchOptions(StringBuilder html, List<string> switches, string current)
    {
        html.Append("<option value=\"\"").Append(current.Length == 0 ? " selected" : "").Append(">Not connected</option>");
        foreach (var name in switches)
            html.Append("<option value=\"").Append(H(name)).Append('"').Append(name == current ? " selected" : "").Append('>').Append(H(name)).Append("</option>");
    }

    /// <summary>Hyper-V Manager's checkpoint choices, in its words.</summary>
    public static readonly (CheckpointType Type, string Label)[] CheckpointTypes =
    [
        (CheckpointType.Production, "Production (standard when the guest cannot freeze)"), (CheckpointType.ProductionOnly, "Production only"),
        (CheckpointType.Standard, "Standard (with memory)"), (CheckpointType.Disabled, "Disabled"),
    ];

    private static void AppendSettings(StringBuilder html, Vm vm, string at, string antiForgery)
    {
        html.Append("<section aria-labelledby=\"settings-h\"><h2 id=\"settings-h\">Settings</h2><form method=\"post\" action=\"").Append(at).Append("/settings\" class=\"settings\">")
            .Append(AntiForgeryField(antiForgery))
            .Append("<label for=\"s-name\">Name</label><input id=\"s-name\" name=\"name\" required value=\"").Append(H(vm.Name)).Append("\">")
            .Append("<label for=\"s-processors\">Virtual processors</label><input id=\"s-processors\" name=\"processors\" type=\"number\" min=\"1\" value=\"").Append(vm.ProcessorCount).Append("\">")
            .Append("<label for=\"s-memory\">Startup memory (MB)</label><input id=\"s-memory\" name=\"memoryMb\" type=\"number\" min=\"1\" value=\"").Append(vm.MemoryStartupBytes >> 20).Append("\">")
            .Append("<label for=\"s-checkpoints\">Checkpoint type</label><select id=\"s-checkpoints\" name=\"checkpointType\">");
        foreach (var (type, label) in CheckpointTypes)
            html.Append("<option value=\"").Append(type).Append('"').Append(vm.CheckpointType == type ? " selected" : "").Append('>').Append(label).Append("</option>");
        html.Append("</select>")
            .Append("<label for=\"s-kernel\">Linux kernel (path on the host)</label><input id=\"s-kernel\" name=\"kernel\" value=\"").Append(H(vm.Boot.KernelPath)).Append("\">")
            .Append("<label for=\"s-initrd\">Initial RAM disk (path, optional)</label><input id=\"s-initrd\" name=\"initrd\" value=\"").Append(H(vm.Boot.InitrdPath)).Append("\">")
            .Append("<label for=\"s-cmdline\">Kernel command line</label><input id=\"s-cmdline\" name=\"cmdline\" value=\"").Append(H(vm.Boot.KernelCommandLine)).Append("\">")
            .Append("<label for=\"s-notes\">Notes</label><textarea id=\"s-notes\" name=\"notes\" rows=\"2\">").Append(H(vm.Notes)).Append("</textarea>")
            .Append("<span></span><button type=\"submit\">Apply</button></form>")
            .Append("<p class=\"hint\">Processors, memory and the boot files change while the VM is off.</p>")
            .Append("<dl class=\"facts\"><dt>Firmware</dt><dd>Linux kernel ").Append(H(vm.Boot.KernelPath)).Append(vm.Boot.InitrdPath.Length > 0 ? $", initrd {H(vm.Boot.InitrdPath)}" : "")
            .Append(", command line <code>").Append(H(vm.Boot.KernelCommandLine)).Append("</code></dd><dt>Backend</dt><dd>").Append(H(vm.Backend)).Append("</dd>")
            .Append("<dt>Generation</dt><dd>").Append(vm.Generation).Append("</dd></dl></section>");
    }

    /// <summary>Set-VMMemory's Dynamic Memory settings (the startup memory is in Settings), with the host's own checks.</summary>
    private static void AppendMemory(StringBuilder html, ManagedVm managed, string at, string antiForgery)
    {
        var m = managed.Config.Memory;
        html.Append("<section aria-labelledby=\"memory-h\"><h2 id=\"memory-h\">Memory</h2><form method=\"post\" action=\"").Append(at).Append("/memory\" class=\"settings\" id=\"memory\">")
            .Append(AntiForgeryField(antiForgery))
            .Append("<label for=\"mem-dynamic\">Enable Dynamic Memory</label><input id=\"mem-dynamic\" name=\"dynamic\" type=\"checkbox\" value=\"true\"").Append(m.DynamicMemoryEnabled ? " checked" : "").Append('>')
            .Append("<label for=\"mem-minimum\">Minimum RAM (MB)</label><input id=\"mem-minimum\" name=\"minimumMb\" type=\"number\" value=\"").Append(m.MinimumBytes >> 20).Append("\">")
            .Append("<label for=\"mem-maximum\">Maximum RAM (MB)</label><input id=\"mem-maximum\" name=\"maximumMb\" type=\"number\" value=\"").Append(m.MaximumBytes >> 20).Append("\">")
            .Append("<label for=\"mem-buffer\">Memory buffer (%)</label><input id=\"mem-buffer\" name=\"buffer\" type=\"number\" value=\"").Append(m.Buffer).Append("\">")
            .Append("<span></span><button type=\"submit\">Set memory</button></form></section>");
    }

    private static void AppendHardware(StringBuilder html, Vm vm, ManagedVm managed, List<string> switches, string at, string antiForgery)
    {
        // Add-/Remove-VMHardDiskDrive: on a running VM a SCSI drive is hot-plugged, as the host does it.
        html.Append("<section aria-labelledby=\"disks-h\"><h2 id=\"disks-h\">Hard drives</h2>");
        if (vm.HardDrives.Count == 0) html.Append("<p>None.</p>");
        else
        {
            html.Append("<table id=\"disks\"><thead><tr><th scope=\"col\">Drive</th><th scope=\"col\">Path</th><th scope=\"col\">Read-only</th><th scope=\"col\">Remove</th></tr></thead><tbody>");
            foreach (var d in vm.HardDrives)
            {
                string where = $"<input type=\"hidden\" name=\"controllerType\" value=\"{d.ControllerType}\"><input type=\"hidden\" name=\"controllerNumber\" value=\"{d.ControllerNumber}\"><input type=\"hidden\" name=\"controllerLocation\" value=\"{d.ControllerLocation}\">";
                html.Append("<tr data-drive=\"").Append(H(d.Path)).Append("\"><td>").Append(H(d.Name)).Append("</td><td>").Append(H(d.Path)).Append("</td><td>").Append(d.ReadOnly ? "Yes" : "No").Append("</td><td>")
                    .Append(Button($"{at}/drives/remove", "Remove", antiForgery, $"Remove the drive {d.Name} from '{vm.Name}'? The virtual hard disk file stays.", where)).Append("</td></tr>");
            }
            html.Append("</tbody></table>");
        }
        html.Append("<form method=\"post\" action=\"").Append(at).Append("/drives/add\" class=\"settings\" id=\"add-drive\">").Append(AntiForgeryField(antiForgery))
            .Append("<label for=\"d-path\">Virtual hard disk to add (path on the host)</label><input id=\"d-path\" name=\"path\" required>")
            .Append("<label for=\"d-readonly\">Read-only</label><input id=\"d-readonly\" name=\"readOnly\" type=\"checkbox\" value=\"true\">")
            .Append("<span></span><button type=\"submit\">Add hard drive</button></form></section>");
        AppendAdapters(html, vm, switches, at, antiForgery);
        // Enable-/Disable-VMIntegrationService: each row's button turns its service the other way.
        html.Append("<section aria-labelledby=\"integration-h\"><h2 id=\"integration-h\">Integration services</h2><table id=\"integration\"><thead><tr><th scope=\"col\">Service</th><th scope=\"col\">Enabled</th><th scope=\"col\">Status</th><th scope=\"col\">Change</th></tr></thead><tbody>");
        foreach (var s in IntegrationProjection.Services(managed, null))
        {
            string fields = $"<input type=\"hidden\" name=\"service\" value=\"{H(s.Name)}\"><input type=\"hidden\" name=\"enabled\" value=\"{(s.Enabled ? "false" : "true")}\">";
            html.Append("<tr data-service=\"").Append(H(s.Name)).Append("\"><td>").Append(H(s.Name)).Append("</td><td>").Append(s.Enabled ? "Yes" : "No").Append("</td><td>").Append(H(s.PrimaryStatusDescription)).Append("</td><td>")
                .Append("<form method=\"post\" action=\"").Append(at).Append("/integration\" class=\"inline\">").Append(AntiForgeryField(antiForgery)).Append(fields)
                .Append("<button type=\"submit\" aria-label=\"").Append(s.Enabled ? "Disable " : "Enable ").Append(H(s.Name)).Append("\">").Append(s.Enabled ? "Disable" : "Enable").Append("</button></form></td></tr>");
        }
        html.Append("</tbody></table></section>");
    }

    /// <summary>
    /// Move (Move-VM): the destination host, Check (Compare-VM) and Move, which asks first; the fields of Hyper-V Manager's
    /// Move wizard that apply here (a live move with the files on shared storage, the only kind this host does).
    /// </summary>
    private static void AppendMove(StringBuilder html, Vm vm, string at, string antiForgery, string? destination)
    {
        html.Append("<section aria-labelledby=\"move-h\"><h2 id=\"move-h\">Move</h2><form method=\"post\" action=\"").Append(at).Append("/move\" class=\"settings\" id=\"move\">")
            .Append(AntiForgeryField(antiForgery))
            .Append("<label for=\"m-destination\">Destination host</label><input id=\"m-destination\" name=\"destination\" required placeholder=\"NAME:PORT\" aria-describedby=\"move-hint\" value=\"").Append(H(destination)).Append("\">")
            .Append("<span></span><span><button type=\"submit\" formaction=\"").Append(at).Append("/move/check\">Check</button> ")
            .Append("<button type=\"submit\" data-confirm=\"").Append(H($"Move '{vm.Name}' to {{destination}}? It keeps running and moves live; its files stay where they are (shared storage).")).Append("\">Move</button></span></form>")
            .Append("<p class=\"hint\" id=\"move-hint\">A running VM moves live to another HyperSharp host (NAME, NAME:PORT or https://NAME:PORT of its --tls-listen) over the hosts' mutual TLS. Its files must be at the same paths there.</p></section>");
    }

    /// <summary>The checkpoint tree as nested lists (parent before children), each with apply and delete.</summary>
    private static void AppendCheckpoints(StringBuilder html, ManagedVm vm, string at, string antiForgery)
    {
        var all = VmCheckpoints.List(vm, null);
        html.Append("<section aria-labelledby=\"checkpoints-h\"><h2 id=\"checkpoints-h\">Checkpoints</h2>");
        if (all.Count == 0) { html.Append("<p id=\"checkpoints\">None.</p></section>"); return; }
        var children = all.ToLookup(c => c.ParentId is { } p && all.Any(o => o.Id == p) ? p : (Guid?)null);
        html.Append("<div id=\"checkpoints\">");
        AppendLevel(html, children, null, vm, at, antiForgery);
        html.Append("</div></section>");
    }

    private static void AppendLevel(StringBuilder html, ILookup<Guid?, CheckpointRecord> children, Guid? parent, ManagedVm vm, string at, string antiForgery)
    {
        html.Append("<ul>");
        foreach (var c in children[parent])
        {
            string field = $"<input type=\"hidden\" name=\"checkpoint\" value=\"{c.Id:D}\">";
            html.Append("<li data-checkpoint=\"").Append(H(c.Name)).Append("\"><span class=\"checkpoint\">").Append(H(c.Name)).Append("</span> <small>")
                .Append(DateTimeOffset.FromUnixTimeMilliseconds(c.CreationTimeUnixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss")).Append(" UTC</small> ")
                .Append(Button($"{at}/checkpoints/apply", "Apply", antiForgery, $"Apply checkpoint '{c.Name}'? The VM's current state is lost.", field))
                .Append(Button($"{at}/checkpoints/delete", "Delete", antiForgery, $"Delete checkpoint '{c.Name}'?", field));
            if (children.Contains(c.Id)) AppendLevel(html, children, c.Id, vm, at, antiForgery);
            html.Append("</li>");
        }
        html.Append("</ul>");
    }
}
