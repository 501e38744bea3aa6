using HyperSharp.Host.Access;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// A VM's settings edited on its page land in the host's configuration; a value the host refuses shows the host's own
/// message (the one Set-VM gets) and changes nothing; the boot command line changed, a kernel outside the storage
/// paths refused; the New VM page refuses a kernel outside the storage paths the
/// same way, keeping what was typed.
/// </summary>
public class SettingsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SettingsChangedOnThePageReachTheHost_AndRefusalsShowTheHostsOwnMessage()
    {
        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("skipped: " + why); return; }
        await using var _ = browser;
        await using var web = await WebFixture.StartAsync(output);
        var manager = web.Server.Manager;
        var vm = manager.Configuration.Create(new NewVm("cfg"), ClientIdentity.Root);
        var page = await browser.LoggedInAsync(web);
        await page.GetByRole(AriaRole.Link, new() { Name = "cfg" }).ClickAsync();

        await page.GetByLabel("Virtual processors").FillAsync("2");
        await page.GetByLabel("Startup memory (MB)").FillAsync("128");
        await page.GetByLabel("Notes").FillAsync("edited in the browser");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.GetByLabel("Virtual processors")).ToHaveValueAsync("2");
        Assert.Equal((2, 128L << 20, "edited in the browser"), (vm.Config.Processor.Count, vm.Config.Memory.StartupBytes, vm.Config.Notes));

        // What the host says to Set-VM for the same value, word for word.
        var expected = Assert.Throws<HostException>(() => manager.Configuration.Update(vm, new VmSettingsChange { ProcessorCount = 100_000 }, ClientIdentity.Root)).Message;
        await page.GetByLabel("Virtual processors").FillAsync("100000");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(expected);
        output.WriteLine($"refused: {expected}");
        Assert.Equal(2, vm.Config.Processor.Count);

        // The boot files and command line (Set-VM's kernel, initrd and command line), and a kernel outside the storage paths refused.
        await page.GetByLabel("Kernel command line").FillAsync("console=ttyS0 quiet");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply", Exact = true }).ClickAsync();
        await Expect(page.GetByLabel("Kernel command line")).ToHaveValueAsync("console=ttyS0 quiet");
        Assert.Equal("console=ttyS0 quiet", vm.Config.Boot.CommandLine);
        string outside = Assert.Throws<HostException>(() => manager.Configuration.Update(vm, new VmSettingsChange { KernelPath = "/etc/hostname" }, new RemoteAdministrator("web console"))).Message;
        await page.GetByLabel("Linux kernel (path on the host)").FillAsync("/etc/hostname");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(outside);
        output.WriteLine($"refused: {outside}");
        Assert.Equal("", vm.Config.Boot.KernelPath ?? "");

        // New VM with a kernel the console's users may not name: refused with the host's reason, the form kept.
        await page.GetByRole(AriaRole.Link, new() { Name = "New VM" }).ClickAsync();
        await page.GetByLabel("Name").FillAsync("outside");
        await page.GetByLabel("Linux kernel (path on the host)").FillAsync("/etc/hostname");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("/etc/hostname");
        output.WriteLine($"refused: {await page.GetByRole(AriaRole.Alert).InnerTextAsync()}");
        await Expect(page.GetByLabel("Name")).ToHaveValueAsync("outside");
        Assert.Empty(manager.List("outside"));
    }
}
