using static HyperSharp.Web.Pages.Layout;

namespace HyperSharp.Web.Pages;

/// <summary>New Virtual Machine: name, memory, processors, a new disk, and the Linux kernel it boots.</summary>
internal static class NewVmPage
{
    public static string Render(string antiForgery, IReadOnlyDictionary<string, string> given, string? error)
    {
        string V(string field, string fallback = "") => H(given.TryGetValue(field, out var v) ? v : fallback);
        string backend = given.TryGetValue("backend", out var b) ? b : "auto";
        string Option(string value, string label) => $"<option value=\"{value}\"{(backend == value ? " selected" : "")}>{label}</option>";
        string body = "<h1>New virtual machine</h1><form method=\"post\" action=\"/vms\" class=\"settings\" id=\"new-vm\">" + AntiForgeryField(antiForgery)
            + $"<label for=\"n-name\">Name</label><input id=\"n-name\" name=\"name\" required value=\"{V("name")}\">"
            + $"<label for=\"n-memory\">Startup memory (MB)</label><input id=\"n-memory\" name=\"memoryMb\" type=\"number\" min=\"1\" value=\"{V("memoryMb", "512")}\">"
            + $"<label for=\"n-processors\">Virtual processors</label><input id=\"n-processors\" name=\"processors\" type=\"number\" min=\"1\" value=\"{V("processors", "1")}\">"
            + $"<label for=\"n-disk\">New virtual hard disk (GB, empty for none)</label><input id=\"n-disk\" name=\"diskGb\" type=\"number\" min=\"1\" value=\"{V("diskGb")}\">"
            + $"<label for=\"n-kernel\">Linux kernel (path on the host)</label><input id=\"n-kernel\" name=\"kernel\" value=\"{V("kernel")}\">"
            + $"<label for=\"n-initrd\">Initial RAM disk (path, optional)</label><input id=\"n-initrd\" name=\"initrd\" value=\"{V("initrd")}\">"
            + $"<label for=\"n-cmdline\">Kernel command line</label><input id=\"n-cmdline\" name=\"cmdline\" value=\"{V("cmdline", "console=ttyS0")}\">"
            + "<label for=\"n-backend\">Processor backend</label><select id=\"n-backend\" name=\"backend\">" + Option("auto", "Automatic") + Option("kvm", "KVM") + Option("emulated", "Emulated") + "</select>"
            + "<span></span><button type=\"submit\">Create</button></form>";
        return Page("New virtual machine", antiForgery, body, error);
    }
}
