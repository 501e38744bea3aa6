using System.Diagnostics;
using HyperSharp.Api.V1;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// Server push: two browsers (two contexts, each its own login) on the VM list see a VM that another administrator
/// starts (through the host's own calls, as the CLI would) turn Running within a second of the host saying so, with no
/// reload; its live figures appear; a VM created elsewhere appears in both lists, and one removed goes (the host's
/// VM count following).
/// </summary>
public class LiveStateTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoBrowsersSeeAVmStartWithinASecond_WithoutReloading()
    {
        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("skipped: " + why); return; }
        await using var _ = browser;
        await using var web = await WebFixture.StartAsync(output);
        var manager = web.Server.Manager;
        var vm = await web.CreateIdleVmAsync("live");

        var pages = new[] { await browser.LoggedInAsync(web), await browser.LoggedInAsync(web) };
        foreach (var page in pages)
        {
            await Expect(State(page, vm.Id)).ToHaveTextAsync("Off");
            await Expect(page.Locator("body[data-live=open]")).ToHaveCountAsync(1); // the event stream is open
        }
        var navigations = pages.Select(p => p.Url).ToArray();

        await manager.Lifecycle.StartAsync(vm, CancellationToken.None);
        var started = Stopwatch.StartNew();
        var seen = await Task.WhenAll(pages.Select(async page =>
        {
            await Expect(State(page, vm.Id)).ToHaveTextAsync("Running", new() { Timeout = 1000 });
            return started.Elapsed;
        }));
        output.WriteLine($"Running seen {seen[0].TotalMilliseconds:F0} ms and {seen[1].TotalMilliseconds:F0} ms after the host's state changed");
        Assert.Equal(navigations, pages.Select(p => p.Url).ToArray()); // pushed, not reloaded
        foreach (var page in pages)
        {
            // The live figures of a running VM come with the next look at them (every 2 s).
            await Expect(page.Locator($"tr[data-vm='{vm.Id:D}'] td[data-field=uptime]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d\d:\d\d:\d\d$"), new() { Timeout = 10_000 });
            await Expect(page.Locator($"tr[data-vm='{vm.Id:D}'] td[data-field=memory]")).ToHaveTextAsync("64 MB");
        }

        // A VM created and one removed elsewhere: each list follows.
        var other = manager.Configuration.Create(new Host.Service.Domain.NewVm("arrived"), Host.Access.ClientIdentity.Root);
        foreach (var page in pages)
        {
            await Expect(page.Locator($"tr[data-vm='{other.Id:D}'] td[data-field=name]")).ToHaveTextAsync("arrived", new() { Timeout = 1000 });
            await Expect(page.Locator("#host-vms")).ToHaveTextAsync("2");
        }
        await manager.Configuration.RemoveAsync(other, force: true, CancellationToken.None);
        foreach (var page in pages)
        {
            await Expect(page.Locator($"tr[data-vm='{other.Id:D}']")).ToHaveCountAsync(0, new() { Timeout = 1000 });
            await Expect(page.Locator("#host-vms")).ToHaveTextAsync("1");
        }

        await manager.Lifecycle.StopAsync(vm, new Host.Service.StopOptions(TurnOff: true), CancellationToken.None);
        foreach (var page in pages) await Expect(State(page, vm.Id)).ToHaveTextAsync("Off", new() { Timeout = 1000 });
        Assert.Equal(Host.Service.Domain.PowerState.Off, vm.State);
    }

    private static ILocator State(IPage page, Guid vm) => page.Locator($"tr[data-vm='{vm:D}'] td[data-field=state]");
}
