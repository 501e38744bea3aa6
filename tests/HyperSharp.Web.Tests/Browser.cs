using Microsoft.Playwright;

namespace HyperSharp.Web.Tests;

/// <summary>Debian's chromium, headless, through Playwright; null with the reason when the package is not installed.</summary>
public sealed class Browser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser chromium)
    {
        _playwright = playwright;
        Chromium = chromium;
    }

    public IBrowser Chromium { get; }

    public static async Task<(Browser? Browser, string Why)> LaunchAsync()
    {
        if (!File.Exists(ChromiumPath)) return (null, $"{ChromiumPath} is missing (eng/install-test-deps.sh installs Debian's chromium)");
        var playwright = await Playwright.CreateAsync();
        var chromium = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
        return (new Browser(playwright, chromium), "");
    }

    /// <summary>A new browser context (its own cookies) logged in through the address the host printed.</summary>
    public async Task<IPage> LoggedInAsync(WebFixture web)
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1366, Height = 768 } });
        var page = await context.NewPageAsync();
        // Hyper-V Manager's confirmations are the page's confirm(): the administrator says yes.
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        var response = await page.GotoAsync(web.Console.LoginAddress.ToString());
        Assert.Equal(200, response!.Status);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.CloseAsync();
        _playwright.Dispose();
    }
}
