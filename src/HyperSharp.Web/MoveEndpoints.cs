using HyperSharp.Host.Service;
using HyperSharp.Web.Access;
using HyperSharp.Web.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HyperSharp.Web;

/// <summary>
/// Move from a VM's page (Hyper-V Manager's Move wizard, for its one kind of move here: the running VM live to another
/// host, its files staying on shared storage): Check is Compare-VM -DestinationHost, Move is Move-VM. A move answers
/// when the VM runs on the destination, then the host page says where it went; one that did not happen shows the VM's
/// page with the host's message (the VM still runs here).
/// </summary>
internal static class MoveEndpoints
{
    public static void Map(IEndpointRouteBuilder app, HostCalls host, AccessToken token)
    {
        app.MapPost("/vms/{id}/move", async (string id, HttpContext context) =>
        {
            if (VmEndpoints.Find(host.Manager, id) is not { } vm) return VmEndpoints.NotFound(id);
            string destination = (await context.Request.ReadFormAsync().ConfigureAwait(false))["destination"].ToString().Trim();
            try
            {
                var moved = await host.MoveAsync(vm, destination).ConfigureAwait(false);
                var query = QueryString.Create(new Dictionary<string, string?>
                {
                    ["moved"] = vm.Name, ["to"] = destination,
                    ["ms"] = moved.TotalMs.ToString("0", System.Globalization.CultureInfo.InvariantCulture),
                    ["downtime"] = moved.DowntimeMs.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
                });
                return Results.Redirect("/" + query.ToUriComponent());
            }
            catch (HostException e) { return await Page(host, vm, token, destination, e.Message, null, VmEndpoints.Status(e)).ConfigureAwait(false); }
        });
        app.MapPost("/vms/{id}/move/check", async (string id, HttpContext context) =>
        {
            if (VmEndpoints.Find(host.Manager, id) is not { } vm) return VmEndpoints.NotFound(id);
            string destination = (await context.Request.ReadFormAsync().ConfigureAwait(false))["destination"].ToString().Trim();
            List<string> problems;
            try { problems = await host.CompareAsync(vm, destination).ConfigureAwait(false); }
            catch (HostException e) { return await Page(host, vm, token, destination, e.Message, null, VmEndpoints.Status(e)).ConfigureAwait(false); }
            return problems.Count == 0
                ? await Page(host, vm, token, destination, null, $"Nothing stops moving '{vm.Name}' to {destination}.", StatusCodes.Status200OK).ConfigureAwait(false)
                : await Page(host, vm, token, destination, $"'{vm.Name}' cannot move to {destination}: {string.Join("; ", problems)}", null, StatusCodes.Status200OK).ConfigureAwait(false);
        });
    }

    private static async Task<IResult> Page(HostCalls host, ManagedVm vm, AccessToken token, string destination, string? error, string? notice, int status) =>
        Results.Content(await VmPage.RenderAsync(host.Manager, vm, token.AntiForgery, error, CancellationToken.None, notice, destination).ConfigureAwait(false), "text/html; charset=utf-8", null, status);
}
