using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service.Domain;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// Every page on the two usual laptop screens (1366×768, 1280×720): no sideways scrolling of the page, one h1, every
/// form field with a label, every button with a name, every chart an image with words for it. And a keyboard alone does
/// the work: the first Tab offers to skip the navigation, Tab reaches a VM's Start button and Enter starts it.
/// </summary>
public class AccessibilityTests(ITestOutputHelper output)
{
    private static readonly (int Width, int Height)[] Laptops = [(1366, 768), (1280, 720)];

    [Fact]
    public async Task EveryPageIsLabelledAndFitsALaptopScreen_AndAVmStartsFromTheKeyboard()
    {
        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("skipped: " + why); return; }
        await using var _ = browser;
        await using var web = await WebFixture.StartAsync(output);
        var manager = web.Server.Manager;
        var vm = await web.CreateIdleVmAsync("a-vm-with-a-rather-long-name-for-the-layout");
        manager.Networking.CreateSwitch(new NewSwitch("lab", SwitchType.Private, "", "", "a switch for the layout"));
        await manager.Networking.AddAdapterAsync(vm, new NewNetworkAdapter(null, "lab", null), CancellationToken.None);
        var page = await browser.LoggedInAsync(web);

        foreach (var (width, height) in Laptops)
        {
            await page.SetViewportSizeAsync(width, height);
            foreach (var path in new[] { "/", $"/vms/{vm.Id:D}", "/vms/new", "/switches" })
            {
                await page.GotoAsync(web.Url(path).ToString());
                await Expect(page.Locator("h1")).ToHaveCountAsync(1);
                string where = $"{path} at {width}x{height}";
                Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= document.documentElement.clientWidth"),
                    $"{where}: the page scrolls sideways ({await page.EvaluateAsync<int>("document.documentElement.scrollWidth")} px wide)");
                Assert.Empty(await page.EvaluateAsync<string[]>(
                    "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.outerHTML)"));
                Assert.Empty(await page.EvaluateAsync<string[]>("[...document.querySelectorAll('button')].filter(b => !b.textContent.trim()).map(b => b.outerHTML)"));
                foreach (var chart in await page.Locator("figure.chart svg").AllAsync())
                {
                    Assert.Equal("img", await chart.GetAttributeAsync("role"));
                    await Expect(chart).ToHaveAccessibleNameAsync(new System.Text.RegularExpressions.Regex("^(CPU usage|Assigned memory)"));
                }
                output.WriteLine($"{where}: fits, labelled");
            }
        }

        // The keyboard alone: skip link first, then Tab to Start and Enter.
        await page.GotoAsync(web.Url($"/vms/{vm.Id:D}").ToString());
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" })).ToBeFocusedAsync();
        var start = page.Locator("div.actions").GetByRole(AriaRole.Button, new() { Name = "Start", Exact = true });
        int presses = 1;
        while (!await start.EvaluateAsync<bool>("b => b === document.activeElement"))
        {
            Assert.True(++presses < 60, "Start was not reached with 60 presses of Tab");
            await page.Keyboard.PressAsync("Tab");
        }
        output.WriteLine($"Start reached with {presses} presses of Tab");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#vm-state")).ToHaveTextAsync("Running", new() { Timeout = 60_000 });
        Assert.Equal(Host.Service.Domain.PowerState.Running, vm.State);
        // Turn off from the keyboard too: Enter on the button (the question it asks is answered yes by the test browser).
        page.Dialog += (_, dialog) => output.WriteLine($"asked: {dialog.Message}");
        await page.Locator("div.actions").GetByRole(AriaRole.Button, new() { Name = "Turn off", Exact = true }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#vm-state")).ToHaveTextAsync("Off", new() { Timeout = 60_000 });
        Assert.Equal(Host.Service.Domain.PowerState.Off, vm.State);
    }
}
