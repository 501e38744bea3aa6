using System.Net;
using Xunit.Abstractions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// No anonymous access: without the login cookie every kind of address is refused (pages, the event stream, static
/// files, the console socket, the charts' data, actions, switch and move forms); a wrong token logs nobody in; with the cookie, an action without the
/// anti-forgery value is refused; the token file is the host user's only. Then the browser's own way in.
/// </summary>
public class AccessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AClientWithoutTheTokenIsRefusedEverything_AndTheLoginPageLetsTheRightTokenIn()
    {
        await using var web = await WebFixture.StartAsync(output);
        var vm = web.Server.Manager.Configuration.Create(new Host.Service.Domain.NewVm("guarded"), Host.Access.ClientIdentity.Root);
        using var anonymous = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false });
        foreach (var path in new[] { "/", "/events", "/static/app.js", "/static/app.css", "/static/vendor/xterm.js", "/vms/new", $"/vms/{vm.Id:D}", $"/vms/{vm.Id:D}/console", "/switches", "/usage", $"/vms/{vm.Id:D}/usage", "/static/charts.js", "/no-such-page" })
        {
            var response = await anonymous.GetAsync(web.Url(path));
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"GET {path} without the token: {(int)response.StatusCode}");
            Assert.DoesNotContain("guarded", await response.Content.ReadAsStringAsync());
        }
        var start = await anonymous.PostAsync(web.Url($"/vms/{vm.Id:D}/start"), new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.Unauthorized, start.StatusCode);
        Assert.Equal(Host.Service.Domain.PowerState.Off, vm.State);
        foreach (var (path, form) in new (string, KeyValuePair<string, string>[])[] { ("/switches", [new("name", "sneaky"), new("type", "Private")]), ($"/vms/{vm.Id:D}/move", [new("destination", "127.0.0.1:1")]) })
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync(web.Url(path), new FormUrlEncodedContent(form))).StatusCode);
        Assert.Empty(web.Server.Manager.Switches.List());

        // A wrong token, as the address or in the form: refused, no cookie.
        var wrong = await anonymous.GetAsync(web.Url("/login?token=" + new string('0', 64)));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));
        var wrongForm = await anonymous.PostAsync(web.Url("/login"), new FormUrlEncodedContent([new("token", web.Console.Token[..^1] + "x")]));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongForm.StatusCode);

        // The token file: the token, readable and writable by the host's user only.
        string file = Path.Combine(web.Root, Access.AccessToken.FileName);
        Assert.Equal(web.Console.Token, File.ReadAllText(file).Trim());
        if (OperatingSystem.IsLinux()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

        // Logged in (the cookie), an action without the anti-forgery value is refused: what a forged cross-site form would send.
        using var loggedIn = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var login = await loggedIn.GetAsync(web.Url("/login?token=" + web.Console.Token));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await loggedIn.GetAsync(web.Url("/static/app.js"))).StatusCode);
        var forged = await loggedIn.PostAsync(web.Url($"/vms/{vm.Id:D}/start"), new FormUrlEncodedContent([new("_csrf", "forged")]));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal(Host.Service.Domain.PowerState.Off, vm.State);

        // The browser: the page without the token is the login page (401), and the token typed into it opens the console.
        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("browser part skipped: " + why); return; }
        await using (browser)
        {
            var context = await browser.Chromium.NewContextAsync();
            var page = await context.NewPageAsync();
            var refused = await page.GotoAsync(web.Url("/").ToString());
            Assert.Equal(401, refused!.Status);
            Assert.Equal(0, await page.Locator("#vms").CountAsync());
            var script = await page.GotoAsync(web.Url("/static/app.js").ToString());
            Assert.Equal(401, script!.Status);
            await page.GotoAsync(web.Url("/").ToString());
            await page.GetByLabel("Access token").FillAsync(web.Console.Token);
            await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
            await Microsoft.Playwright.Assertions.Expect(page.Locator("#vms tr[data-vm] td[data-field=name]")).ToHaveTextAsync("guarded");
        }
    }
}
