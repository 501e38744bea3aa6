using System.Diagnostics;
using System.Text.RegularExpressions;
using HyperSharp.Integration.Tests.Guest;
using HyperSharp.Machine.Tests;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// An administrator's whole round in the browser, with a real guest: the Debian kit (stock kernel, busybox, hs-agent) on
/// the Emulated backend. Created from the New VM page (with a new disk), started from its page, its boot seen in the
/// page's terminal and a command typed into the guest's shell with its output seen; a checkpoint taken, a file made
/// after it; shut down through the guest's agent; the checkpoint applied (the file gone when the VM runs again); shut
/// down again through the restored guest's agent; deleted. Every step through the page's own buttons and forms.
/// </summary>
public class DebianGuestTests(ITestOutputHelper output)
{
    private static readonly LocatorAssertionsToContainTextOptions Boot = new() { Timeout = 300_000 };

    [Fact]
    public async Task AnAdministratorCreatesStartsTypesIntoCheckpointsAppliesShutsDownAndDeletesAVm_FromTheBrowser()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var (agent, agentWhy) = AgentKit.Get();
        if (agent is null) { output.WriteLine("skipped: " + agentWhy); return; }
        var (browser, browserWhy) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("skipped: " + browserWhy); return; }
        await using var _ = browser;
        await using var web = await WebFixture.StartAsync(output, kit);
        string initrd = AgentKit.Initrd(kit, agent, web.Root, new Dictionary<string, string>());
        var clock = Stopwatch.StartNew();
        var page = await browser.LoggedInAsync(web);
        page.SetDefaultTimeout(180_000); // an action's POST answers when the host has done it (a guest's shutdown included)

        // New VM: the form, as a person fills it in.
        await page.GetByRole(AriaRole.Link, new() { Name = "New VM" }).ClickAsync();
        await page.GetByLabel("Name").FillAsync("web-guest");
        await page.GetByLabel("Startup memory (MB)").FillAsync("256");
        await page.GetByLabel("Virtual processors").FillAsync("1");
        await page.GetByLabel("New virtual hard disk (GB, empty for none)").FillAsync("1");
        await page.GetByLabel("Linux kernel (path on the host)").FillAsync(Path.Combine(kit, "vmlinuz"));
        await page.GetByLabel("Initial RAM disk (path, optional)").FillAsync(initrd);
        await page.GetByLabel("Kernel command line").FillAsync("console=ttyS0 hs.agent hs.shell");
        await page.GetByLabel("Processor backend").SelectOptionAsync("emulated");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await Expect(page.Locator("h1#vm-name")).ToHaveTextAsync("web-guest");
        await Expect(page.Locator("#vm-state")).ToHaveTextAsync("Off");
        await Expect(page.Locator("#disks")).ToContainTextAsync("web-guest.vhdx");
        var vm = Assert.Single(web.Server.Manager.List("web-guest"));
        Assert.Equal((256L << 20, 1, "emulated"), (vm.Config.Memory.StartupBytes, vm.Config.Processor.Count, vm.Config.Backend));

        // Standard checkpoints (with memory), set on the page: applying one takes the running guest back, not a fresh boot.
        await page.GetByLabel("Checkpoint type").SelectOptionAsync("Standard");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.GetByLabel("Checkpoint type")).ToHaveValueAsync("Standard");
        Assert.Equal(HyperSharp.Api.V1.CheckpointType.Standard, vm.Config.CheckpointType);

        // Start: the boot in the terminal, then a command typed into the guest's shell and its answer.
        await Action(page, "Start");
        await Expect(page.Locator("#vm-state")).ToHaveTextAsync("Running");
        await Expect(Terminal(page)).ToContainTextAsync("HYPERSHARP-INIT-READY", Boot);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: the kit's /init is up, seen in the page");
        await TypeUntilAsync(page, "echo web-$((6*7))", "web-42");
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: typed into the guest's shell, its answer seen");

        // Checkpoint, then a file made after it; shut down (the page asks first; the guest's agent shuts it down).
        await Action(page, "Checkpoint");
        await Expect(page.Locator("#checkpoints li[data-checkpoint]")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: checkpoint '{await page.Locator("#checkpoints .checkpoint").InnerTextAsync()}' listed");
        await TypeUntilAsync(page, "touch /tmp/after; [ -e /tmp/after ] && echo HAS-$((2+3))", "HAS-5");
        await Action(page, "Shut down");
        await OffOrRefusedAsync(page);
        Assert.Contains("the guest shut down", vm.Runtime.LastOffReason);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: shut down ({vm.Runtime.LastOffReason})");

        // Applying the checkpoint (asked first) goes back to the running guest before the file: started, it has none.
        await page.Locator("#checkpoints li[data-checkpoint]").GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.Locator("#vm-state")).ToHaveTextAsync("Saved", new() { Timeout = 120_000 });
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: checkpoint applied, the VM Saved");
        await Action(page, "Start");
        await Expect(page.Locator("#vm-state")).ToHaveTextAsync("Running");
        await TypeUntilAsync(page, "[ -e /tmp/after ] && echo HAS-$((2+3)) || echo GONE-$((1+1))", "GONE-2");
        Assert.DoesNotContain("HAS-5", await Terminal(page).InnerTextAsync());
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: the restored guest has no file made after the checkpoint");

        // Shut down again, once the restored guest's agent is back (its heartbeat on the page): the kit's busybox /init
        // does not act on the ACPI power button, so a Shut down pressed before the agent has reconnected to the new
        // worker waits out the host's 60 s and fails, as Hyper-V's does without the Shutdown service.
        await Expect(page.Locator("#vm-heartbeat")).ToHaveTextAsync(new Regex("^Ok"), new() { Timeout = 120_000 });
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: the restored guest's agent answers (heartbeat {await page.Locator("#vm-heartbeat").InnerTextAsync()})");
        await Action(page, "Shut down");
        await OffOrRefusedAsync(page);
        Assert.Contains("the guest shut down", vm.Runtime.LastOffReason);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: the restored guest shut down ({vm.Runtime.LastOffReason})");

        // Delete (asked first): gone from the list.
        await Action(page, "Delete");
        await Expect(page.Locator("#vms")).ToBeVisibleAsync();
        await Expect(page.Locator("#vms tbody tr")).ToHaveCountAsync(0);
        Assert.Empty(web.Server.Manager.List(null));
    }

    /// <summary>Waits until the VM is Off, or the page shows the host's refusal of the action (then fails with it, and the state then).</summary>
    private static async Task OffOrRefusedAsync(IPage page)
    {
        var state = page.Locator("#vm-state");
        await Expect(page.Locator("#error").Or(page.Locator("#vm-state:text-is('Off')"))).ToHaveCountAsync(1, new() { Timeout = 120_000 });
        if (await page.Locator("#error").CountAsync() > 0)
            Assert.Fail($"the host refused: {await page.Locator("#error").InnerTextAsync()} (the VM is {await state.InnerTextAsync()})");
    }

    private static ILocator Terminal(IPage page) => page.Locator("#console .xterm-rows");

    private static Task Action(IPage page, string name) =>
        page.Locator("div.actions").GetByRole(AriaRole.Button, new() { Name = name, Exact = true }).ClickAsync();

    /// <summary>
    /// Types <paramref name="command"/> into the terminal until <paramref name="answer"/> shows (keys typed before the
    /// guest's shell reads its terminal are lost, so a line is typed again while no answer came; at most 10 times).
    /// </summary>
    private static async Task TypeUntilAsync(IPage page, string command, string answer, float timeout = 60_000)
    {
        var deadline = Stopwatch.StartNew();
        for (int attempt = 0; ; attempt++)
        {
            await page.Locator("#console").ClickAsync();
            await page.Keyboard.TypeAsync(command);
            await page.Keyboard.PressAsync("Enter");
            try
            {
                await Expect(Terminal(page)).ToContainTextAsync(answer, new() { Timeout = 15_000 });
                return;
            }
            catch (PlaywrightException) when (attempt < 9 && deadline.ElapsedMilliseconds < timeout) { }
        }
    }
}
