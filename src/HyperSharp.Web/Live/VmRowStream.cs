using System.Text.Json;
using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Web.Pages;
using Microsoft.AspNetCore.Http;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Web.Live;

/// <summary>
/// GET /events: the VM list's changes as server-sent events. A VM's row goes out when the host's event feed says
/// it changed (state, configuration, created, removed), and the live figures (CPU, memory, uptime, heartbeat) of
/// running VMs are looked at every <see cref="FigureInterval"/>, a row going out only when something in it changed.
/// The stream starts with every row, so a page misses nothing that happened between its rendering and the stream.
/// With ?usage=VMID (a VM's page) or ?usage=host (the host page) it also carries the usage charts' new samples, looked
/// for at the same ticks.
/// </summary>
internal static class VmRowStream
{
    public static readonly TimeSpan FigureInterval = TimeSpan.FromSeconds(2);

    public static async Task ServeAsync(HttpContext context, VmManager manager, Usage.UsageSampler sampler)
    {
        var cancel = context.RequestAborted;
        var usage = UsageOf(context.Request.Query["usage"].ToString(), sampler);
        long usageSent = 0;
        using var events = manager.Events.Subscribe(); // first, so that no change after the snapshot is lost
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        var sent = new Dictionary<string, VmRow>();
        try
        {
            await SendAsync(response, sent, manager, manager.List(null), cancel).ConfigureAwait(false);
            var reader = events.ReadAllAsync(cancel).GetAsyncEnumerator(cancel);
            using var timer = new PeriodicTimer(FigureInterval);
            Task<bool>? next = null, tick = null;
            while (!cancel.IsCancellationRequested)
            {
                next ??= reader.MoveNextAsync().AsTask();
                tick ??= timer.WaitForNextTickAsync(cancel).AsTask();
                if (await Task.WhenAny(next, tick).ConfigureAwait(false) == next)
                {
                    if (!await next.ConfigureAwait(false)) return;
                    var e = reader.Current;
                    next = null;
                    if (e.Kind == VmChangeKind.Removed)
                    {
                        if (sent.Remove(e.VmId.ToString("D"))) await WriteAsync(response, "removed", JsonSerializer.Serialize(new { id = e.VmId.ToString("D") }), cancel).ConfigureAwait(false);
                        continue;
                    }
                    if (manager.List(null).FirstOrDefault(vm => vm.Id == e.VmId) is { } changed)
                    {
                        // The state at once, from the host's own record; the figures follow when the worker has answered (up to 2 s when it is busy).
                        await WriteAsync(response, "row", JsonSerializer.Serialize(new { id = e.VmId.ToString("D"), name = changed.Name, state = StateNames.Of(changed.State), status = changed.Status }), cancel).ConfigureAwait(false);
                        await SendAsync(response, sent, manager, [changed], cancel).ConfigureAwait(false);
                    }
                }
                else
                {
                    tick = null;
                    var running = manager.List(null).Where(vm => vm.State is not (PowerState.Off or PowerState.Saved)).ToList();
                    await SendAsync(response, sent, manager, running, cancel).ConfigureAwait(false);
                    if (usage?.Invoke() is { } history)
                        foreach (var sample in history.Since(usageSent))
                        {
                            await WriteAsync(response, "usage", Usage.UsageJson.Append(new System.Text.StringBuilder(48), sample).ToString(), cancel).ConfigureAwait(false);
                            usageSent = sample.UnixMs;
                        }
                    await response.WriteAsync(": alive\n\n", cancel).ConfigureAwait(false); // a comment line: proxies and the browser see a live stream
                    await response.Body.FlushAsync(cancel).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { } // the browser went away mid-write
    }

    /// <summary>The history a page's charts follow (looked up at each tick: a VM's history begins when it first runs), or null.</summary>
    private static Func<Usage.UsageHistory?>? UsageOf(string target, Usage.UsageSampler sampler) =>
        target == "host" ? () => sampler.Host
        : Guid.TryParse(target, out var vm) ? () => sampler.Of(vm)
        : null;

    private static async Task SendAsync(HttpResponse response, Dictionary<string, VmRow> sent, VmManager manager, List<ManagedVm> vms, CancellationToken cancel)
    {
        var projected = await Task.WhenAll(vms.Select(vm => VmProjection.ToVmAsync(vm, manager.Switches, cancel))).ConfigureAwait(false);
        foreach (var vm in projected)
        {
            var row = VmRow.From(vm);
            if (sent.TryGetValue(row.Id, out var last) && last == row) continue;
            sent[row.Id] = row;
            await WriteAsync(response, "row", JsonSerializer.Serialize(new
            {
                id = row.Id, name = row.Name, state = row.State, cpu = row.Cpu, memory = row.Memory, uptime = row.Uptime, heartbeat = row.Heartbeat, status = row.Status,
            }), cancel).ConfigureAwait(false);
        }
        await response.Body.FlushAsync(cancel).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpResponse response, string kind, string json, CancellationToken cancel) =>
        response.WriteAsync($"event: {kind}\ndata: {json}\n\n", cancel);
}
