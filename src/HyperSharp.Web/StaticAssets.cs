using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HyperSharp.Web;

/// <summary>
/// /static/…: the console's own scripts and styles and the npm packages' files, all embedded in this assembly at build
/// time (nothing is read from disk or fetched at run time). Served behind the access gate like everything else.
/// </summary>
internal static class StaticAssets
{
    private const string Prefix = "wwwroot/";
    private static readonly Assembly Self = typeof(StaticAssets).Assembly;
    private static readonly HashSet<string> Names = [.. Self.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))];

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/static/{**file}", (string file) =>
    {
        string name = Prefix + file;
        if (!Names.Contains(name)) return Results.Text($"no file {file} in the console\n", "text/plain", null, StatusCodes.Status404NotFound);
        return Results.Stream(Self.GetManifestResourceStream(name)!, ContentType(file));
    });

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
}
