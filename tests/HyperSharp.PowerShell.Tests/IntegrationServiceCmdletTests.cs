using System.Management.Automation;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// Get-/Enable-/Disable-VMIntegrationService and Copy-VMFile against a real host, on a VM whose guest has no agent (a
/// small program on the Emulated backend): the settings kept and shown, heartbeat No Contact while it runs, Copy-VMFile
/// refused while the Guest Service Interface is off, and refused (no agent answering) when it is on. The guest with the
/// agent is HyperSharp.Host.Tests' IntegrationServicesGuestTests.
/// </summary>
public sealed class IntegrationServiceCmdletTests(ITestOutputHelper output) : HostedSession
{
    [Fact]
    public async Task An_admin_lists_enables_and_disables_integration_services_and_Copy_VMFile_says_why_it_cannot_copy()
    {
        string kernel = Host.IdleGuest();
        await Ps.RunAsync($"New-VM -Name app01 -MemoryStartupBytes 64MB -KernelPath '{kernel}' -Backend emulated | Out-Null");

        // Hyper-V's defaults: every service on but Guest Service Interface; nothing to report while the VM is off.
        var services = (await Ps.RunAsync("Get-VMIntegrationService -VMName app01")).Ok().Select(o => (VMIntegrationComponent)o.BaseObject).ToList();
        Assert.Equal(["Guest Service Interface", "Heartbeat", "Key-Value Pair Exchange", "Shutdown", "Time Synchronization", "VSS"], services.Select(s => s.Name));
        Assert.Equal([false, true, true, true, true, true], services.Select(s => s.Enabled));
        Assert.All(services, s => Assert.Equal(("app01", ""), (s.VMName, s.PrimaryStatusDescription)));
        string table = string.Concat((await Ps.RunAsync("Get-VMIntegrationService app01 | Out-String -Width 200")).Ok().Select(o => o.BaseObject));
        Assert.Matches(@"VMName\s+Name\s+Enabled\s+PrimaryStatusDescription\s+SecondaryStatusDescription", table);

        // Disabled by -VMName and -Name, enabled again from the pipeline; kept in the VM's configuration.
        Assert.Empty((await Ps.RunAsync("Disable-VMIntegrationService -VMName app01 -Name 'Time Synchronization', Shutdown")).Errors);
        var off = (await Ps.RunAsync("Get-VMIntegrationService app01 -Name 'Time*'")).Ok().Select(o => (VMIntegrationComponent)o.BaseObject).Single();
        Assert.False(off.Enabled);
        var on = (VMIntegrationComponent)Assert.Single((await Ps.RunAsync("Get-VMIntegrationService app01 -Name Shutdown | Enable-VMIntegrationService -Passthru")).Ok()).BaseObject;
        Assert.True(on.Enabled);
        var config = await File.ReadAllTextAsync(Directory.EnumerateFiles(Host.Root, "vm.json", SearchOption.AllDirectories).Single());
        Assert.Contains("\"timeSynchronization\": false", config, StringComparison.OrdinalIgnoreCase);

        // A name that is no service is refused, naming the services.
        var wrong = Assert.Single((await Ps.RunAsync("Enable-VMIntegrationService -VMName app01 -Name 'Data Exchange'")).Errors);
        Assert.Contains("Guest Service Interface", wrong.Exception.Message);
        Assert.Single((await Ps.RunAsync("Get-VMIntegrationService app01 -Name 'Data Exchange'")).Errors);

        // Running without an agent: heartbeat No Contact; Copy-VMFile refused while the Guest Service Interface is off...
        var started = await Ps.RunAsync("Start-VM app01; Get-VM app01");
        if (started.Errors.Count > 0) output.WriteLine(Host.WorkerLogs());
        var vm = (VirtualMachine)Assert.Single(started.Ok()).BaseObject;
        Assert.Equal(("NoContact", ""), (vm.Heartbeat, vm.IntegrationServicesVersion));
        var heartbeat = (VMIntegrationComponent)Assert.Single((await Ps.RunAsync("Get-VMIntegrationService app01 -Name Heartbeat")).Ok()).BaseObject;
        Assert.Equal("No Contact", heartbeat.PrimaryStatusDescription);
        string file = Path.Combine(Host.Root, "hello.txt");
        await File.WriteAllTextAsync(file, "hello");
        var copy = $"Copy-VMFile -Name app01 -SourcePath '{file}' -DestinationPath /root/hello.txt -FileSource Host -CreateFullPath";
        var disabled = Assert.Single((await Ps.RunAsync(copy)).Errors);
        Assert.Equal(ErrorCategory.InvalidOperation, disabled.CategoryInfo.Category);
        Assert.Contains("Guest Service Interface integration service is disabled", disabled.Exception.Message);
        // ...and once it is on, refused because no agent answers; a relative destination is refused before that.
        await Ps.RunAsync("Enable-VMIntegrationService -VMName app01 -Name 'Guest Service Interface'");
        Assert.Contains("not answering", Assert.Single((await Ps.RunAsync(copy)).Errors).Exception.Message);
        Assert.Contains("absolute path", Assert.Single((await Ps.RunAsync(copy.Replace("/root/hello.txt", "root/hello.txt", StringComparison.Ordinal))).Errors).Exception.Message);

        // Disabling the heartbeat shows as Disabled in Get-VM.
        await Ps.RunAsync("Disable-VMIntegrationService -VMName app01 -Name Heartbeat");
        Assert.Equal("Disabled", ((VirtualMachine)Assert.Single((await Ps.RunAsync("Get-VM app01")).Ok()).BaseObject).Heartbeat);
        await Ps.RunAsync("Stop-VM app01 -TurnOff");
    }
}
