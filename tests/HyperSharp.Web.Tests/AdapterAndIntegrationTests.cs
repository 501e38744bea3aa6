using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// A VM's network adapters and integration services changed on its page land in the host's configuration: an adapter
/// added on a switch, moved off it, refused with the host's message when its name is taken, removed; an integration
/// service disabled and enabled again.
/// </summary>
public class AdapterAndIntegrationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AdaptersAndIntegrationServicesAreChangedFromTheVmsPage()
    {
        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("skipped: " + why); return; }
        await using var _ = browser;
        await using var web = await WebFixture.StartAsync(output);
        var manager = web.Server.Manager;
        manager.Networking.CreateSwitch(new NewSwitch("lab", SwitchType.Private, "", "", ""));
        var vm = manager.Configuration.Create(new NewVm("nics"), ClientIdentity.Root);
        var page = await browser.LoggedInAsync(web);
        await page.GetByRole(AriaRole.Link, new() { Name = "nics" }).ClickAsync();

        var add = page.Locator("form#add-adapter");
        await add.GetByLabel("New adapter's name").FillAsync("Frontend");
        await add.GetByLabel("Its virtual switch").SelectOptionAsync("lab");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add network adapter" }).ClickAsync();
        await Expect(page.GetByLabel("Virtual switch of Frontend")).ToHaveValueAsync("lab");
        var frontend = Assert.Single(vm.Config.NetworkAdapters);
        Assert.Equal(("Frontend", manager.Switches.FindByName("lab")!.Id), (frontend.Name, frontend.SwitchId));

        await page.GetByLabel("Virtual switch of Frontend").SelectOptionAsync("");
        await page.Locator("tr[data-adapter=Frontend]").GetByRole(AriaRole.Button, new() { Name = "Connect" }).ClickAsync();
        await Expect(page.GetByLabel("Virtual switch of Frontend")).ToHaveValueAsync("");
        Assert.Null(Assert.Single(vm.Config.NetworkAdapters).SwitchId);

        string expected = (await Assert.ThrowsAsync<HostException>(() => manager.Networking.AddAdapterAsync(vm, new NewNetworkAdapter("frontend", null, null), CancellationToken.None))).Message;
        await add.GetByLabel("New adapter's name").FillAsync("frontend");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add network adapter" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(expected);
        output.WriteLine($"refused: {expected}");
        Assert.Single(vm.Config.NetworkAdapters);

        await page.Locator("tr[data-adapter=Frontend]").GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        await Expect(page.Locator("tr[data-adapter]")).ToHaveCountAsync(0);
        Assert.Empty(vm.Config.NetworkAdapters);

        // An integration service off and on again.
        await page.GetByRole(AriaRole.Button, new() { Name = "Disable Time Synchronization" }).ClickAsync();
        await Expect(page.Locator("tr[data-service='Time Synchronization'] td").Nth(1)).ToHaveTextAsync("No");
        Assert.False(Service(manager, vm, "Time Synchronization"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Enable Time Synchronization" }).ClickAsync();
        await Expect(page.Locator("tr[data-service='Time Synchronization'] td").Nth(1)).ToHaveTextAsync("Yes");
        Assert.True(Service(manager, vm, "Time Synchronization"));
    }

    private static bool Service(VmManager manager, ManagedVm vm, string name) =>
        IntegrationProjection.Services(vm, null).Single(s => s.Name == name).Enabled;
}
