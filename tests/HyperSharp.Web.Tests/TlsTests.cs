using System.Net;
using System.Net.Http;
using HyperSharp.Api.Tls;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service.Domain;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// With the host's TLS the console is HTTPS for browsers that show a client certificate the host's authority signed
/// (made by `hyper host certs`), as the API's TLS endpoint is: without one the handshake fails before any page, event
/// stream or static file; with one the pages open without a token, and actions still need the anti-forgery value.
/// </summary>
public class TlsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task WithTheHostsTlsOnlyBrowsersWithItsClientCertificateGetIn()
    {
        TlsFiles? files = null;
        await using var web = await WebFixture.StartAsync(output, root =>
        {
            files = new TlsFiles(Path.Combine(root, "tls"));
            HostCertificates.Create(files, ["localhost"], [IPAddress.Loopback]);
            return files.Directory;
        });
        Assert.Equal("https", web.Console.Address.Scheme);
        var vm = web.Server.Manager.Configuration.Create(new NewVm("tls-vm"), ClientIdentity.Root);
        var authority = files!.LoadAuthority();

        HttpClient Client(bool withCertificate)
        {
            var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
            handler.ServerCertificateCustomValidationCallback = (_, certificate, _, errors) => TlsTrust.AcceptsHost(certificate, errors, authority);
            if (withCertificate) handler.ClientCertificates.Add(files.LoadClient());
            return new HttpClient(handler);
        }
        using var stranger = Client(withCertificate: false);
        foreach (var path in new[] { "/", "/events", "/static/app.js", "/login" })
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => stranger.GetAsync(web.Url(path)));

        using var administrator = Client(withCertificate: true);
        var home = await administrator.GetAsync(web.Url("/"));
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Contains("tls-vm", await home.Content.ReadAsStringAsync());
        var forged = await administrator.PostAsync(web.Url($"/vms/{vm.Id:D}/start"), new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);

        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("browser part skipped: " + why); return; }
        await using (browser)
        {
            string origin = web.Console.Address.GetLeftPart(UriPartial.Authority);
            var bare = await (await browser.Chromium.NewContextAsync(new() { IgnoreHTTPSErrors = true })).NewPageAsync();
            var refused = await Assert.ThrowsAsync<PlaywrightException>(() => bare.GotoAsync(web.Url("/").ToString()));
            output.WriteLine($"without a certificate: {refused.Message.Split('\n')[0]}");

            var context = await browser.Chromium.NewContextAsync(new()
            {
                IgnoreHTTPSErrors = true, // our own authority, which the browser does not know; the test checks the host's certificate above
                ClientCertificates = [new ClientCertificate { Origin = origin, CertPath = files.ClientCertificate, KeyPath = files.ClientKey }],
            });
            var page = await context.NewPageAsync();
            var response = await page.GotoAsync(web.Url("/").ToString());
            Assert.Equal(200, response!.Status);
            await page.GetByRole(AriaRole.Link, new() { Name = "tls-vm" }).ClickAsync();
            await page.GetByLabel("Notes").FillAsync("set over TLS");
            await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
            await Expect(page.GetByLabel("Notes")).ToHaveValueAsync("set over TLS");
            Assert.Equal("set over TLS", vm.Config.Notes);
        }
    }
}
