using HyperSharp.Web.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HyperSharp.Web.Access;

/// <summary>
/// Nothing is served without the token: every request but the login itself must bring the login cookie (pages, the
/// event stream, the console socket, static files alike), or come over the host's TLS with a client certificate. State-changing requests must also carry the
/// anti-forgery value, and the console socket must come from our own origin, so another site cannot act through
/// a browser that is logged in.
/// </summary>
internal static class AccessGate
{
    public const string CookieName = "hs-web";
    public const string AntiForgeryField = "_csrf";
    public const string AntiForgeryHeader = "X-HyperSharp-CSRF";

    public static void Use(WebApplication app, AccessToken token, Action<string> log)
    {
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (request.Path == "/login") { await next(context).ConfigureAwait(false); return; }
            // With the host's TLS, Kestrel has already refused any connection without a certificate our authority signed.
            bool certified = context.Connection.ClientCertificate is not null;
            if (!certified && !token.Matches(request.Cookies[CookieName]))
            {
                await RefuseAsync(context, StatusCodes.Status401Unauthorized, "log in first: open the address `hyper host --web` printed (or /login with the token from ROOT/web-token)").ConfigureAwait(false);
                return;
            }
            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !await CarriesAntiForgeryAsync(request, token).ConfigureAwait(false))
            {
                log($"refused {request.Method} {request.Path}: no anti-forgery value (a request made by another site?)");
                await RefuseAsync(context, StatusCodes.Status403Forbidden, "this request did not come from a page of this console (anti-forgery check failed); reload the page and try again").ConfigureAwait(false);
                return;
            }
            if (context.WebSockets.IsWebSocketRequest && !SameOrigin(request))
            {
                await RefuseAsync(context, StatusCodes.Status403Forbidden, "the console socket accepts pages of this console only").ConfigureAwait(false);
                return;
            }
            context.Response.Headers.CacheControl = "no-store";
            await next(context).ConfigureAwait(false);
        });
    }

    /// <summary>GET /login?token=… (the printed address) and the login form's POST: a right token sets the cookie and goes home.</summary>
    public static void MapLogin(IEndpointRouteBuilder app, AccessToken token, Action<string> log)
    {
        app.MapGet("/login", (HttpContext context) =>
        {
            string? given = context.Request.Query["token"];
            return given is null ? Results.Content(Layout.Login(null), "text/html; charset=utf-8") : LogIn(context, given);
        });
        app.MapPost("/login", async Task<IResult> (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
            return LogIn(context, form["token"]);
        });

        IResult LogIn(HttpContext context, string? given)
        {
            if (!token.Matches(given?.Trim()))
            {
                log($"refused a login from {context.Connection.RemoteIpAddress}: wrong token");
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Results.Content(Layout.Login("That token is not this host's. It is in ROOT/web-token, and printed when `hyper host --web` starts."), "text/html; charset=utf-8", null, 401);
            }
            context.Response.Cookies.Append(CookieName, token.Value, new CookieOptions
            {
                HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps, Path = "/", IsEssential = true,
            });
            return Results.Redirect("/");
        }
    }

    private static async Task<bool> CarriesAntiForgeryAsync(HttpRequest request, AccessToken token)
    {
        if (token.MatchesAntiForgery(request.Headers[AntiForgeryHeader])) return true;
        if (!request.HasFormContentType) return false;
        var form = await request.ReadFormAsync().ConfigureAwait(false);
        return token.MatchesAntiForgery(form[AntiForgeryField]);
    }

    private static bool SameOrigin(HttpRequest request)
    {
        string? origin = request.Headers.Origin;
        return origin is not null && Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task RefuseAsync(HttpContext context, int status, string why)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        bool wantsPage = HttpMethods.IsGet(context.Request.Method) && context.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.Ordinal);
        if (wantsPage && status == StatusCodes.Status401Unauthorized)
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync(Layout.Login(null)).ConfigureAwait(false);
        }
        else
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(why + "\n").ConfigureAwait(false);
        }
    }
}
