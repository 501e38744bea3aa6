using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using HyperSharp.Api.Tls;
using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Migration;
using HyperSharp.Host.Service.Domain;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// Move from the VM's page, as Hyper-V Manager's Move wizard does it for a running VM with its files on shared storage:
/// two hosts in this process (each with its own inventory, mutual TLS on its own loopback address, one authority) and a
/// counting guest on the first. A move to a host that is not there is refused with the host's message, the VM running on
/// where it was; Check (Compare-VM) finds nothing in the way of the second host; Move asks first, then the VM runs on the
/// second host — whose own console, open in a second browser, sees it arrive — and the first host's page says where it went.
/// </summary>
public class MoveTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ARunningVmMovesLiveToAnotherHostFromItsPage()
    {
        var (browser, why) = await Browser.LaunchAsync();
        if (browser is null) { output.WriteLine("skipped: " + why); return; }
        await using var _ = browser;
        string scratch = Directory.CreateDirectory(Path.Combine("/tmp", "hs-wmv-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        try
        {
            var trust = new TlsFiles(Path.Combine(scratch, "tls"));
            HostCertificates.Create(trust, ["localhost"], [IPAddress.Parse("127.0.0.1"), IPAddress.Parse("127.0.0.2")]);
            string shared = Directory.CreateDirectory(Path.Combine(scratch, "shared")).FullName;
            await using var a = await StartHostAsync(IPAddress.Parse("127.0.0.1"), trust, shared);
            await using var b = await StartHostAsync(IPAddress.Parse("127.0.0.2"), trust, shared);
            string destination = b.Server.Options.TlsListen!.ToString();

            string kernel = Path.Combine(shared, "counter.elf");
            await File.WriteAllBytesAsync(kernel, Host.Tests.TestGuests.Counter(200_000));
            var vm = a.Server.Manager.Configuration.Create(new NewVm("mover") { KernelPath = kernel, MemoryStartupBytes = 64L << 20, Backend = "emulated" }, ClientIdentity.Root);
            await a.Server.Manager.Lifecycle.StartAsync(vm, CancellationToken.None);

            var onB = await browser.LoggedInAsync(b);
            await Expect(onB.Locator("body[data-live=open]")).ToHaveCountAsync(1);
            await Expect(onB.Locator("#vms tbody tr")).ToHaveCountAsync(0);
            var page = await browser.LoggedInAsync(a);
            page.SetDefaultTimeout(180_000); // a move's POST answers when the VM runs on the destination
            var questions = new List<string>();
            page.Dialog += (_, dialog) => questions.Add(dialog.Message);
            await page.GetByRole(AriaRole.Link, new() { Name = "mover" }).ClickAsync();
            await Expect(page.Locator("#vm-state")).ToHaveTextAsync("Running");
            var form = page.Locator("form#move");

            // Nobody listens at the destination: the host's refusal, and the VM runs on here.
            await form.GetByLabel("Destination host").FillAsync("127.0.0.1:1");
            await form.GetByRole(AriaRole.Button, new() { Name = "Move" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("VM 'mover' did not move to 127.0.0.1:1; it runs on here");
            output.WriteLine($"refused: {await page.GetByRole(AriaRole.Alert).InnerTextAsync()}");
            Assert.Equal(Host.Service.Domain.PowerState.Running, vm.State);

            // Check (Compare-VM): nothing in the way; then Move, asked first.
            await form.GetByLabel("Destination host").FillAsync(destination);
            await form.GetByRole(AriaRole.Button, new() { Name = "Check" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"Nothing stops moving 'mover' to {destination}.");
            await Expect(form.GetByLabel("Destination host")).ToHaveValueAsync(destination);
            var clock = Stopwatch.StartNew();
            await form.GetByRole(AriaRole.Button, new() { Name = "Move" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"VM 'mover' moved to {destination} and runs there");
            output.WriteLine($"moved in {clock.Elapsed.TotalSeconds:F1} s from the click: {await page.GetByRole(AriaRole.Status).InnerTextAsync()}");
            Assert.Contains($"Move 'mover' to {destination}? It keeps running and moves live; its files stay where they are (shared storage).", questions);
            Assert.Equal(2, questions.Count); // the refused move asked too; Check did not

            await Expect(page.Locator("#vms tbody tr")).ToHaveCountAsync(0);
            Assert.Empty(a.Server.Manager.List(null));
            var arrived = Assert.Single(b.Server.Manager.List(null));
            Assert.Equal((vm.Id, Host.Service.Domain.PowerState.Running), (arrived.Id, arrived.State));
            // The second host's console saw it arrive, pushed.
            await Expect(onB.Locator($"tr[data-vm='{vm.Id:D}'] td[data-field=state]")).ToHaveTextAsync("Running");
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A host with live migration enabled, its API over mutual TLS on <paramref name="address"/>, and its web console.</summary>
    private Task<WebFixture> StartHostAsync(IPAddress address, TlsFiles trust, string shared) => Enable(WebFixture.StartAsync(output,
        (_, host) => host with { TlsListen = new IPEndPoint(address, FreePort(address)), TlsDirectory = trust.Directory, StoragePaths = [.. host.StoragePaths!, shared] },
        (_, web) => web));

    private static async Task<WebFixture> Enable(Task<WebFixture> starting)
    {
        var web = await starting;
        web.Server.Manager.HostSettings.Change(new MigrationSettingsChange { Enabled = true });
        return web;
    }

    private static int FreePort(IPAddress address)
    {
        using var probe = new TcpListener(address, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
