using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// Virtual Switch Manager in the browser: a Private switch created from the form is the host's; what the host refuses
/// (a name in use, an External switch without a host adapter or with one that does not exist, a host interface on a
/// Private switch) shows the host's own message, word for word as New-VMSwitch gets it, and creates nothing; a switch
/// renamed with the keyboard alone; a switch with a VM's adapter on it removed after the page asks (naming the adapter
/// count), the adapter left on its VM, disconnected.
/// Internal and External switches that succeed need a TAP or a host adapter: the host makes them in the host's network
/// namespace, which a test must not touch; SwitchNamespaceTests prove those with the same host calls.
/// </summary>
public class SwitchManagerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SwitchesAreCreatedRenamedAndRemovedFromThePage_WithTheHostsOwnRefusals()
    {
        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("skipped: " + why); return; }
        await using var _ = browser;
        await using var web = await WebFixture.StartAsync(output);
        var manager = web.Server.Manager;
        var page = await browser.LoggedInAsync(web);
        var questions = new List<string>();
        page.Dialog += (_, dialog) => questions.Add(dialog.Message);

        await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Virtual switches" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Virtual switch manager" })).ToBeVisibleAsync();
        await Expect(page.Locator("#switches")).ToHaveTextAsync("None.");

        await CreateAsync(page, "lab", "Private", notes: "made in the browser");
        await Expect(page.Locator("tr[data-switch=lab]")).ToContainTextAsync("Private");
        var lab = Assert.Single(manager.Switches.List());
        Assert.Equal(("lab", Networking.Switching.SwitchType.Private, "made in the browser"), (lab.Name, lab.Config.Type, lab.Config.Notes));

        // Each refusal is the host's message for the same New-VMSwitch, and nothing is made.
        var refusals = new (string Name, string Type, string Adapter, string Interface, SwitchType Api)[]
        {
            ("LAB", "Private", "", "", SwitchType.Private),                    // names are unique whatever their case
            ("uplink", "External", "", "", SwitchType.External),              // no adapter to bridge to
            ("uplink", "External", "hs-nosuch0", "", SwitchType.External),    // an adapter the host does not have
            ("inside", "Private", "", "hs-inside", SwitchType.Private),       // a host interface belongs to Internal switches
        };
        foreach (var r in refusals)
        {
            string expected = Assert.Throws<HostException>(() => manager.Networking.CreateSwitch(new NewSwitch(r.Name, r.Api, r.Adapter, r.Interface, ""))).Message;
            await CreateAsync(page, r.Name, r.Type, r.Adapter, r.Interface);
            await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(expected);
            await Expect(page.GetByLabel("Name", new() { Exact = true }).Last).ToHaveValueAsync(r.Name); // the form as typed
            output.WriteLine($"refused: {expected}");
        }
        Assert.Single(manager.Switches.List());

        // Renamed with the keyboard: the name field, a new name, Enter.
        var name = page.Locator($"#sw-{lab.Id:D}-name");
        await name.FocusAsync();
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.TypeAsync("lab-2");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("tr[data-switch=lab-2]")).ToHaveCountAsync(1);
        Assert.Equal("lab-2", lab.Name);

        // A name another switch has: the host's message.
        manager.Networking.CreateSwitch(new NewSwitch("other", SwitchType.Private, "", "", ""));
        await page.ReloadAsync();
        string taken = Assert.Throws<HostException>(() => manager.Networking.UpdateSwitch(lab, new SwitchChange("OTHER", null))).Message;
        await page.Locator($"#sw-{lab.Id:D}-name").FillAsync("OTHER");
        await page.Locator($"#sw-{lab.Id:D}").GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(taken);
        Assert.Equal("lab-2", lab.Name);

        // Removed with a VM's adapter on it: asked first, the adapter stays on its VM, disconnected.
        var vm = manager.Configuration.Create(new NewVm("wired"), ClientIdentity.Root);
        await manager.Networking.AddAdapterAsync(vm, new NewNetworkAdapter(null, "lab-2", null), CancellationToken.None);
        await page.ReloadAsync();
        await Expect(page.Locator("tr[data-switch=lab-2] td").Nth(3)).ToHaveTextAsync("1");
        await page.Locator($"#sw-{lab.Id:D}").GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        await Expect(page.Locator("tr[data-switch=lab-2]")).ToHaveCountAsync(0);
        Assert.Equal(["other"], manager.Switches.List().Select(s => s.Name));
        Assert.Contains("Remove virtual switch 'lab-2'? The network adapter connected to it is disconnected.", questions);
        var adapter = Assert.Single(vm.Config.NetworkAdapters);
        Assert.Null(adapter.SwitchId);
        await page.GotoAsync(web.Url($"/vms/{vm.Id:D}").ToString());
        await Expect(page.GetByLabel("Virtual switch of Network Adapter")).ToHaveValueAsync(""); // Not connected
    }

    private static async Task CreateAsync(IPage page, string name, string type, string adapter = "", string hostInterface = "", string notes = "")
    {
        var form = page.Locator("form#new-switch");
        await form.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
        await form.GetByLabel("Connection type").SelectOptionAsync(type);
        await form.GetByLabel("Host adapter (External)").FillAsync(adapter);
        await form.GetByLabel("Host interface name", new() { Exact = false }).FillAsync(hostInterface);
        await form.GetByLabel("Notes").FillAsync(notes);
        await form.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
    }
}
