using System.Text.RegularExpressions;
using HyperSharp.Inventory.Platform;
using HyperSharp.Networking.Tests;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// Switches with a host side made from the switch manager page: `hyper host --web` runs inside a network namespace the
/// test creates, and so does the browser, so the TAP and the uplink are the namespace's, never the machine's. An Internal
/// switch's TAP exists while the switch does; an External switch bridges to the veth end the page offers among the host's
/// adapters; removing them (asked first) takes the TAP away and leaves the adapter.
/// </summary>
public class SwitchHostSideTests(ITestOutputHelper output)
{
    [Fact]
    public async Task InternalAndExternalSwitchesAreMadeAndRemovedFromThePage()
    {
        var (ns, nsWhy) = NetworkNamespace.Create();
        if (ns is null) { output.WriteLine("skipped: " + nsWhy); return; }
        using var _ns = ns;
        ns.AddVethPair("hsup0", "hsup1");
        var (browser, why) = await Browser.LaunchAsync(ns.Name);
        if (browser is null) { output.WriteLine("skipped: " + why); return; }
        await using var _ = browser;
        bool Exists(string name) => Regex.IsMatch(ns.IpOutput("-o", "link", "show"), $@": {name}[:@]");

        string root = Directory.CreateDirectory(Path.Combine("/tmp", "hs-webns-" + Guid.NewGuid().ToString("N")[..10])).FullName;
        var printed = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = HyperProcess.Start(output, ["ip", "netns", "exec", ns.Name], ["host", "--root", root, "--socket", Path.Combine(root, "h.sock"), "--web", "127.0.0.1:0"], out var log,
            line => { if (Regex.Match(line, @"log in with (\S+)") is { Success: true } m) printed.TrySetResult(new Uri(m.Groups[1].Value)); });
        try
        {
            var page = await browser.LoggedInAsync(await printed.Task.WaitAsync(TimeSpan.FromSeconds(120)));
            var questions = new List<string>();
            page.Dialog += (_, dialog) => questions.Add(dialog.Message);
            await page.GetByRole(AriaRole.Link, new() { Name = "Virtual switches" }).First.ClickAsync();
            var form = page.Locator("form#new-switch");
            // The host's adapters are offered for External switches: the namespace's veth ends.
            Assert.Contains("hsup0", await page.Locator("datalist#host-adapters option").EvaluateAllAsync<string[]>("options => options.map(o => o.value)"));

            await form.GetByLabel("Name", new() { Exact = true }).FillAsync("inside");
            await form.GetByLabel("Connection type").SelectOptionAsync("Internal");
            await form.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
            await Expect(page.Locator("tr[data-switch=inside]")).ToContainTextAsync("host interface hs-inside");
            Assert.True(Exists("hs-inside"), "the Internal switch's TAP is in the namespace");

            await form.GetByLabel("Name", new() { Exact = true }).FillAsync("uplink");
            await form.GetByLabel("Connection type").SelectOptionAsync("External");
            await form.GetByLabel("Host adapter (External)").FillAsync("hsup0");
            await form.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
            await Expect(page.Locator("tr[data-switch=uplink]")).ToContainTextAsync("host adapter hsup0");

            foreach (var name in new[] { "inside", "uplink" })
            {
                await page.Locator($"section[data-switch-properties={name}]").GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
                await Expect(page.Locator($"tr[data-switch={name}]")).ToHaveCountAsync(0);
            }
            Assert.False(Exists("hs-inside"), "the TAP goes with its switch");
            Assert.True(Exists("hsup0"), "an External switch leaves its adapter in place");
            Assert.Equal(2, questions.Count);
            Assert.Equal("Remove virtual switch 'inside'? No network adapter is connected to it. Host interface hs-inside goes with it: pending changes may disrupt network connectivity.", questions[0]);
            Assert.Contains("Host adapter hsup0 is no longer bridged to the VMs", questions[1]);
            output.WriteLine(string.Join("\n", questions));
        }
        finally
        {
            Posix.Signal(host.Id, 15);
            Assert.True(host.WaitForExit(60_000), $"hyper host did not stop on SIGTERM: {log}");
            Directory.Delete(root, recursive: true);
        }
    }
}
