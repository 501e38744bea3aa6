using Microsoft.Playwright;

namespace HyperSharp.Web.Tests;

/// <summary>Debian's chromium, headless, through Playwright; null with the reason when the package is not installed.</summary>
public sealed class Browser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    private readonly IPlaywright _playwright;

    private readonly string? _wrapper;

    private Browser(IPlaywright playwright, IBrowser chromium, string? wrapper = null)
    {
        _wrapper = wrapper;
        _playwright = playwright;
        Chromium = chromium;
    }

    public IBrowser Chromium { get; }

    /// <param name="networkNamespace">a network namespace the test made: chromium runs inside it (through `ip netns exec`), so it reaches a host serving on that namespace's loopback</param>
    public static async Task<(Browser? Browser, string Why)> LaunchAsync(string? networkNamespace = null)
    {
        if (!File.Exists(ChromiumPath)) return (null, $"{ChromiumPath} is missing (eng/install-test-deps.sh installs Debian's chromium)");
        string executable = ChromiumPath;
        if (networkNamespace is not null)
        {
            // ip netns exec execs chromium, which keeps the pipes Playwright talks to it over.
            executable = Path.Combine(Path.GetTempPath(), $"hs-chromium-{networkNamespace}.sh");
            File.WriteAllText(executable, $"#!/bin/sh\nexec ip netns exec {networkNamespace} {ChromiumPath} \"$@\"\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(executable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var playwright = await Playwright.CreateAsync();
        var chromium = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = executable, Headless = true });
        return (new Browser(playwright, chromium, executable == ChromiumPath ? null : executable), "");
    }

    /// <summary>A new browser context (its own cookies) logged in through the address the host printed.</summary>
    public Task<IPage> LoggedInAsync(WebFixture web) => LoggedInAsync(web.Console.LoginAddress);

    /// <summary>A new browser context logged in through <paramref name="login"/> (the address `hyper host --web` printed).</summary>
    public async Task<IPage> LoggedInAsync(Uri login)
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1366, Height = 768 } });
        var page = await context.NewPageAsync();
        // Hyper-V Manager's confirmations are the page's confirm(): the administrator says yes.
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        var response = await page.GotoAsync(login.ToString());
        Assert.Equal(200, response!.Status);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.CloseAsync();
        _playwright.Dispose();
        if (_wrapper is not null) File.Delete(_wrapper);
    }
}
