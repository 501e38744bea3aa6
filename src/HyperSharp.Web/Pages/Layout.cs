using System.Text;
using System.Text.Encodings.Web;

namespace HyperSharp.Web.Pages;

/// <summary>The frame every page shares (navigation, styles, scripts, the anti-forgery value for forms) and HTML encoding.</summary>
internal static class Layout
{
    public static string H(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    /// <summary>
    /// A whole page: <paramref name="body"/> inside the console's navigation; <paramref name="error"/> as an alert on top,
    /// <paramref name="notice"/> as a status line; <paramref name="script"/> a terminal page's script (xterm.js with it);
    /// <paramref name="charts"/> the usage charts' script.
    /// </summary>
    public static string Page(string title, string antiForgery, string body, string? error = null, string? script = null, string? notice = null, bool charts = false)
    {
        var html = new StringBuilder(body.Length + 2048);
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(H(title)).Append(" — HyperSharp</title>")
            .Append("<meta name=\"hs-csrf\" content=\"").Append(H(antiForgery)).Append("\">")
            .Append("<link rel=\"stylesheet\" href=\"/static/app.css\">");
        if (script is not null) html.Append("<link rel=\"stylesheet\" href=\"/static/vendor/xterm.css\">");
        html.Append("<script src=\"/static/app.js\" defer></script>");
        if (charts) html.Append("<script src=\"/static/charts.js\" defer></script>");
        if (script is not null) html.Append("<script src=\"/static/vendor/xterm.js\" defer></script><script src=\"/static/").Append(H(script)).Append("\" defer></script>");
        html.Append("</head><body><a class=\"skip\" href=\"#main\">Skip to content</a><header><nav aria-label=\"Console\"><a href=\"/\">Host</a> <a href=\"/vms/new\">New VM</a> <a href=\"/switches\">Virtual switches</a></nav></header><main id=\"main\" tabindex=\"-1\">");
        if (notice is not null) html.Append("<p class=\"notice\" role=\"status\" id=\"notice\">").Append(H(notice)).Append("</p>");
        if (error is not null) html.Append("<p class=\"error\" role=\"alert\" id=\"error\">").Append(H(error)).Append("</p>");
        html.Append(body).Append("</main></body></html>");
        return html.ToString();
    }

    /// <summary>The hidden field that carries the anti-forgery value in a form.</summary>
    public static string AntiForgeryField(string antiForgery) =>
        $"<input type=\"hidden\" name=\"{Access.AccessGate.AntiForgeryField}\" value=\"{H(antiForgery)}\">";

    /// <summary>A one-button form posting to <paramref name="action"/>; with <paramref name="confirm"/> the page asks first (as Hyper-V Manager does).</summary>
    public static string Button(string action, string label, string antiForgery, string? confirm = null, string? field = null) =>
        $"<form method=\"post\" action=\"{H(action)}\" class=\"inline\"{(confirm is null ? "" : $" data-confirm=\"{H(confirm)}\"")}>{AntiForgeryField(antiForgery)}{field}<button type=\"submit\">{H(label)}</button></form>";

    /// <summary>The login page: the one page served without the token.</summary>
    public static string Login(string? error) =>
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Log in — HyperSharp</title></head><body><main>"
        + "<h1>HyperSharp web console</h1>"
        + (error is null ? "" : $"<p role=\"alert\">{H(error)}</p>")
        + "<form method=\"post\" action=\"/login\"><label for=\"token\">Access token</label> <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required> <button type=\"submit\">Log in</button></form>"
        + "<p>The token is printed when <code>hyper host --web</code> starts, and kept in the host's <code>ROOT/web-token</code>.</p></main></body></html>";
}
