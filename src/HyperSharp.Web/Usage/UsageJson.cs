using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HyperSharp.Web.Usage;

/// <summary>
/// The charts' data as JSON: GET /usage (all VMs) and /vms/ID/usage give the hour kept so far, and the event stream
/// sends each new sample as it is taken; a sample is [unix ms, CPU % or null, MiB or null].
/// </summary>
internal static class UsageJson
{
    public static void Map(IEndpointRouteBuilder app, UsageSampler sampler)
    {
        app.MapGet("/usage", () => History(sampler, sampler.Host));
        app.MapGet("/vms/{id}/usage", (string id) => History(sampler, Guid.TryParse(id, out var vm) ? sampler.Of(vm) : null));
    }

    private static IResult History(UsageSampler sampler, UsageHistory? history)
    {
        var json = new StringBuilder(64 + (history?.Capacity ?? 0) * 32);
        json.Append("{\"intervalMs\":").Append((long)sampler.Interval.TotalMilliseconds).Append(",\"windowMs\":").Append((long)UsageSampler.Window.TotalMilliseconds).Append(",\"samples\":[");
        bool first = true;
        foreach (var s in history?.Since(0) ?? [])
        {
            if (!first) json.Append(',');
            first = false;
            Append(json, s);
        }
        return Results.Content(json.Append("]}").ToString(), "application/json");
    }

    public static StringBuilder Append(StringBuilder json, UsageSample s)
    {
        json.Append('[').Append(s.UnixMs).Append(',');
        json.Append(float.IsNaN(s.CpuPercent) ? "null" : s.CpuPercent.ToString("0.0", CultureInfo.InvariantCulture)).Append(',');
        return json.Append(s.MemoryMb < 0 ? "null" : s.MemoryMb.ToString(CultureInfo.InvariantCulture)).Append(']');
    }
}
