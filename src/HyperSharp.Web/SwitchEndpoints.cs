using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Web.Access;
using HyperSharp.Web.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HyperSharp.Web;

/// <summary>
/// Virtual Switch Manager's page and its forms: create (New-VMSwitch), name and notes (Set-/Rename-VMSwitch), remove
/// (Remove-VMSwitch). A refusal shows the page again with the host's message and what was typed; a change redirects.
/// </summary>
internal static class SwitchEndpoints
{
    public static void Map(IEndpointRouteBuilder app, HostCalls host, AccessToken token)
    {
        app.MapGet("/switches", () => Page(host, token, new Dictionary<string, string>(), null, StatusCodes.Status200OK));
        app.MapPost("/switches", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
            try
            {
                host.CreateSwitch(new NewSwitch(Field(form, "name"), Type(Field(form, "type")), Field(form, "adapter"), Field(form, "interface"), Field(form, "notes")));
                return Results.Redirect("/switches");
            }
            catch (HostException e) { return Page(host, token, form.ToDictionary(f => f.Key, f => f.Value.ToString()), e.Message, VmEndpoints.Status(e)); }
        });
        app.MapPost("/switches/{id}", async (string id, HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
            string name = Field(form, "name"), notes = form["notes"].ToString();
            var current = host.Switches().Find(s => s.Id == id);
            // Only what the form changed, as on a VM's settings.
            var change = new SwitchChange(current is not null && name == current.Name ? null : name, current is not null && notes == current.Notes ? null : notes);
            return await Run(host, token, () => { host.UpdateSwitch(id, change); return Task.CompletedTask; }).ConfigureAwait(false);
        });
        app.MapPost("/switches/{id}/delete", (string id) => Run(host, token, () => host.RemoveSwitchAsync(id)));
    }

    private static async Task<IResult> Run(HostCalls host, AccessToken token, Func<Task> change)
    {
        try { await change().ConfigureAwait(false); }
        catch (HostException e) { return Page(host, token, new Dictionary<string, string>(), e.Message, VmEndpoints.Status(e)); }
        return Results.Redirect("/switches");
    }

    private static IResult Page(HostCalls host, AccessToken token, IReadOnlyDictionary<string, string> given, string? error, int status) =>
        Results.Content(SwitchesPage.Render(host.Switches(), HostCalls.HostAdapters(), token.AntiForgery, given, error), "text/html; charset=utf-8", null, status);

    private static string Field(IFormCollection form, string field) => form[field].ToString().Trim();

    /// <summary>The form's connection type; the host checks the rest (what each type needs) in its own words.</summary>
    private static SwitchType Type(string text) => text switch
    {
        "External" => SwitchType.External,
        "Internal" => SwitchType.Internal,
        "Private" => SwitchType.Private,
        _ => throw HostErrors.Invalid("Connection type", $"'{text}' is not one of {string.Join(", ", SwitchesPage.Types.Select(t => t.Type))}"),
    };
}
