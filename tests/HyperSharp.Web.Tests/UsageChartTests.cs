using HyperSharp.Host.Access;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Web.Usage;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// The CPU and memory charts of the last hour: the host process samples each running VM (here every second instead of
/// five, so the test sees several), the VM's page draws what was kept and then each new sample as the event stream
/// brings it (no reload), with a caption that says the figures in words; the host page charts all VMs together. The
/// history of a VM is a fixed-size ring: an hour of samples, the oldest overwritten.
/// </summary>
public class UsageChartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ARunningVmsCpuAndMemoryAreChartedAndFollowedLive()
    {
        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("skipped: " + why); return; }
        await using var _ = browser;
        await using var web = await WebFixture.StartAsync(output, (_, host) => host, (_, console) => console with { UsageInterval = TimeSpan.FromSeconds(1) });
        var manager = web.Server.Manager;
        var vm = await web.CreateIdleVmAsync("charted");
        var page = await browser.LoggedInAsync(web);
        await page.GotoAsync(web.Url($"/vms/{vm.Id:D}").ToString());
        await Expect(page.Locator("#chart-memory figcaption")).ToContainTextAsync("no samples yet");

        await manager.Lifecycle.StartAsync(vm, CancellationToken.None);
        var memory = page.Locator("#chart-memory");
        await Expect(memory.Locator("figcaption")).ToHaveTextAsync("Assigned memory: now 64 MB, peak 64 MB in the last hour", new() { Timeout = 30_000 });
        await Expect(page.Locator("#chart-cpu figcaption")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^CPU usage: now [\d.]+ %, peak [\d.]+ % in the last hour$"), new() { Timeout = 30_000 });
        // New samples arrive while the page stays: the count of points grows, with no navigation.
        string url = page.Url;
        int before = int.Parse(await memory.GetAttributeAsync("data-points") ?? "0");
        await Expect(memory).Not.ToHaveAttributeAsync("data-points", before.ToString(), new() { Timeout = 10_000 });
        Assert.Equal(url, page.Url);
        await Expect(memory.Locator("svg polyline.line")).ToHaveCountAsync(1);
        output.WriteLine($"VM page: {await memory.Locator("figcaption").InnerTextAsync()}; {await page.Locator("#chart-cpu figcaption").InnerTextAsync()}; {await memory.GetAttributeAsync("data-points")} points");

        // A reload draws the hour kept so far at once.
        await page.ReloadAsync();
        await Expect(memory).Not.ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^[01]$"));

        // The host page: all VMs together.
        await page.GotoAsync(web.Url("/").ToString());
        await Expect(page.Locator("#chart-memory figcaption")).ToHaveTextAsync("Assigned memory: now 64 MB, peak 64 MB in the last hour", new() { Timeout = 30_000 });
        await manager.Lifecycle.StopAsync(vm, new Host.Service.StopOptions(TurnOff: true), CancellationToken.None);
        await Expect(page.Locator("#chart-memory figcaption")).ToContainTextAsync("Assigned memory: now 0 MB, peak 64 MB", new() { Timeout = 30_000 });
    }

    [Fact]
    public void AnHourIsKeptAtMost_TheOldestSamplesOverwritten()
    {
        var history = new UsageHistory(720); // what the sampler keeps at its 5 s default
        for (int i = 1; i <= 2000; i++) history.Add(new UsageSample(i * 5000L, i % 100, 64));
        var kept = history.Since(0);
        Assert.Equal(720, kept.Count);
        Assert.Equal((1281 * 5000L, 2000 * 5000L), (kept[0].UnixMs, kept[^1].UnixMs));
        Assert.Equal([1999 * 5000L, 2000 * 5000L], history.Since(1998 * 5000L).Select(s => s.UnixMs));
    }
}
