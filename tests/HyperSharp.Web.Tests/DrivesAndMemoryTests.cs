using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Vhdx;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// A VM's hard drives and Dynamic Memory changed on its page land in the host's configuration: a VHDX added (SCSI, the
/// first free location) and removed after the page asks, one outside the host's storage paths refused with the host's
/// message; Dynamic Memory turned on with its minimum, maximum and buffer, and a minimum the host refuses shown in its words.
/// </summary>
public class DrivesAndMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DrivesAndDynamicMemoryAreChangedFromTheVmsPage()
    {
        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("skipped: " + why); return; }
        await using var _ = browser;
        await using var web = await WebFixture.StartAsync(output);
        var manager = web.Server.Manager;
        var vm = manager.Configuration.Create(new NewVm("disks") { MemoryStartupBytes = 512L << 20 }, ClientIdentity.Root);
        string disk = Path.Combine(Directory.CreateDirectory(manager.VirtualHardDiskPath).FullName, "data.vhdx");
        VirtualDisk.Create(disk, new DiskCreateOptions { Capacity = 1L << 30 }).Dispose();
        var page = await browser.LoggedInAsync(web);
        await page.GotoAsync(web.Url($"/vms/{vm.Id:D}").ToString());

        var add = page.Locator("form#add-drive");
        await add.GetByLabel("Virtual hard disk to add").FillAsync(disk);
        await add.GetByRole(AriaRole.Button, new() { Name = "Add hard drive" }).ClickAsync();
        await Expect(page.Locator("#disks tr[data-drive]")).ToHaveCountAsync(1);
        var drive = Assert.Single(vm.Config.Disks);
        Assert.Equal((disk, ControllerType.Scsi, false), (drive.Path, drive.ControllerType, drive.ReadOnly));

        var client = new RemoteAdministrator("web console"); // who the page's requests are
        string outside = (await Assert.ThrowsAsync<HostException>(() => manager.Configuration.AddDiskAsync(vm, new NewDiskDrive("/etc/hostname", false, ControllerType.Scsi, 0, null), client, CancellationToken.None))).Message;
        await add.GetByLabel("Virtual hard disk to add").FillAsync("/etc/hostname");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add hard drive" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(outside);
        output.WriteLine($"refused: {outside}");
        Assert.Single(vm.Config.Disks);

        var questions = new List<string>();
        page.Dialog += (_, dialog) => questions.Add(dialog.Message);
        await page.Locator("#disks tr[data-drive]").GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        await Expect(page.Locator("#disks tr[data-drive]")).ToHaveCountAsync(0);
        Assert.Empty(vm.Config.Disks);
        Assert.True(File.Exists(disk), "the file stays");
        Assert.StartsWith("Remove the drive", Assert.Single(questions));

        // Dynamic Memory on, with its limits.
        var memory = page.Locator("form#memory");
        await memory.GetByLabel("Enable Dynamic Memory").CheckAsync();
        await memory.GetByLabel("Minimum RAM (MB)").FillAsync("256");
        await memory.GetByLabel("Maximum RAM (MB)").FillAsync("2048");
        await memory.GetByLabel("Memory buffer (%)").FillAsync("30");
        await memory.GetByRole(AriaRole.Button, new() { Name = "Set memory" }).ClickAsync();
        await Expect(page.GetByLabel("Enable Dynamic Memory")).ToBeCheckedAsync();
        var m = vm.Config.Memory;
        Assert.Equal((true, 256L << 20, 2048L << 20, 30), (m.DynamicMemoryEnabled, m.MinimumBytes, m.MaximumBytes, m.Buffer));

        string tooHigh = (await Assert.ThrowsAsync<HostException>(() => manager.Memory.SetAsync(vm, new VmMemoryChange { MinimumBytes = 4096L << 20 }))).Message;
        await page.GetByLabel("Minimum RAM (MB)").FillAsync("4096");
        await page.Locator("form#memory").GetByRole(AriaRole.Button, new() { Name = "Set memory" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(tooHigh);
        output.WriteLine($"refused: {tooHigh}");
        Assert.Equal(256L << 20, vm.Config.Memory.MinimumBytes);
    }
}
