namespace HyperSharp.Web.Pages;

/// <summary>
/// The CPU and memory charts of the last hour (drawn by charts.js from <c>data-usage</c>, then kept current by the page's
/// event stream). Each chart is an image whose caption says in words what it shows: now, and the hour's peak.
/// </summary>
internal static class UsageCharts
{
    /// <param name="source">where the hour so far is read: /usage (all VMs) or /vms/ID/usage</param>
    /// <param name="whose">what the figures are of, for the captions ("this VM", "all VMs")</param>
    public static string Render(string source, string whose) =>
        $"<section aria-labelledby=\"usage-h\" class=\"usage\" data-usage=\"{Layout.H(source)}\">"
        + $"<h2 id=\"usage-h\">CPU and memory of {Layout.H(whose)}, last hour</h2><div class=\"charts\">"
        + Chart("cpu", "CPU usage") + Chart("memory", "Assigned memory") + "</div></section>";

    private static string Chart(string series, string title) =>
        $"<figure class=\"chart\" id=\"chart-{series}\" data-series=\"{series}\" data-points=\"0\"><figcaption id=\"chart-{series}-caption\">{title}</figcaption>"
        + $"<svg role=\"img\" aria-labelledby=\"chart-{series}-caption\" viewBox=\"0 0 600 170\"></svg></figure>";
}
