using System.Management.Automation;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// The switch and network adapter cmdlets against a real host, as a Hyper-V administrator scripts them. The VMs stay
/// Off (the host-side tests cover adapters on running guests), and the switches are Private: Internal and External
/// switches create host interfaces, which tests make only inside network namespaces of their own.
/// </summary>
public sealed class NetworkCmdletTests(ITestOutputHelper output) : HostedSession
{
    [Fact]
    public async Task An_admin_creates_renames_and_removes_private_switches()
    {
        var created = (await Ps.RunAsync("""
            New-VMSwitch -Name lab -SwitchType Private -Notes 'test lab' | Out-Null
            New-VMSwitch spare -SwitchType Private | Out-Null
            Set-VMSwitch -Name lab -Notes 'web tier' -Passthru
            Get-VMSwitch spare | Rename-VMSwitch -NewName standby -Passthru
            Get-VMSwitch -Name '*a*'
            """)).Ok().Select(o => (VMSwitch)o.BaseObject).ToList();
        Assert.Equal(["lab", "standby", "lab", "standby"], created.Select(s => s.Name));
        var lab = created[0];
        Assert.Equal((VMSwitchType.Private, "web tier", false, null), (lab.SwitchType, lab.Notes, lab.AllowManagementOS, lab.NetAdapterInterfaceDescription));
        Assert.NotEqual(Guid.Empty, lab.Id);
        Assert.Equal(created[1].Id, created[3].Id);

        // Lookups by Id, by type, and the default table.
        var byId = (VMSwitch)Assert.Single((await Ps.RunAsync($"Get-VMSwitch -Id {lab.Id}")).Ok()).BaseObject;
        Assert.Equal("lab", byId.Name);
        Assert.Empty((await Ps.RunAsync("Get-VMSwitch -SwitchType Internal, External")).Ok());
        Assert.Equal(2, (await Ps.RunAsync("Get-VMSwitch -SwitchType Private")).Ok().Count);
        string table = string.Concat((await Ps.RunAsync("Get-VMSwitch | Out-String -Width 200")).Ok().Select(o => o.BaseObject));
        output.WriteLine(table);
        Assert.Matches(@"^Name\s+SwitchType\s+NetAdapterInterfaceDescription$", table.Split('\n').Select(l => l.Trim()).First(l => l.Length > 0));

        // A taken name, an unknown name, a missing uplink: each an ErrorRecord of its own category.
        Assert.Equal(ErrorCategory.ResourceExists, Assert.Single((await Ps.RunAsync("New-VMSwitch lab -SwitchType Private")).Errors).CategoryInfo.Category);
        Assert.Equal(ErrorCategory.ObjectNotFound, Assert.Single((await Ps.RunAsync("Get-VMSwitch nosuch")).Errors).CategoryInfo.Category);
        Assert.Equal(ErrorCategory.ObjectNotFound, Assert.Single((await Ps.RunAsync("Rename-VMSwitch nosuch -NewName x")).Errors).CategoryInfo.Category);
        Assert.Empty((await Ps.RunAsync("Get-VMSwitch nosuch*")).Ok());
        var teamed = Assert.Single((await Ps.RunAsync("New-VMSwitch uplink -NetAdapterName eth8, eth9")).Errors);
        Assert.Equal(ErrorCategory.InvalidArgument, teamed.CategoryInfo.Category);
        Assert.Contains("one host interface", teamed.Exception.Message);

        // -WhatIf removes nothing; -Force removes without asking.
        Assert.Equal(2, Assert.Single((await Ps.RunAsync("Remove-VMSwitch standby -WhatIf; @(Get-VMSwitch).Count")).Ok()).BaseObject);
        Assert.Equal("lab", Assert.Single((await Ps.RunAsync("Get-VMSwitch standby | Remove-VMSwitch -Force; (Get-VMSwitch).Name")).Ok()).BaseObject);
    }

    [Fact]
    public async Task An_admin_adds_configures_and_removes_network_adapters()
    {
        string kernel = Host.IdleGuest();
        var added = (await Ps.RunAsync($$"""
            New-VMSwitch -Name lab -SwitchType Private | Out-Null
            New-VM -Name web01 -MemoryStartupBytes 64MB -KernelPath '{{kernel}}' -Backend emulated | Out-Null
            New-VM -Name web02 -MemoryStartupBytes 64MB -KernelPath '{{kernel}}' -Backend emulated | Out-Null
            Add-VMNetworkAdapter -VMName web01 -SwitchName lab
            Get-VM web01 | Add-VMNetworkAdapter -Name backend -StaticMacAddress 00-15-5D-0A-0B-0C -DeviceNaming On -Passthru | Out-Null
            Add-VMNetworkAdapter -VMName web02 -SwitchName lab
            Get-VMNetworkAdapter -VMName web01
            """)).Ok().Select(o => (VMNetworkAdapter)o.BaseObject).ToList();
        Assert.Equal(["Network Adapter", "backend"], added.Select(a => a.Name));
        var (first, backend) = (added[0], added[1]);
        Assert.Equal(("web01", "lab", true, false), (first.VMName, first.SwitchName, first.DynamicMacAddressEnabled, first.IsManagementOs));
        Assert.Matches("^[0-9A-F]{12}$", first.MacAddress);
        Assert.Equal(("", "00155D0A0B0C", false), (backend.SwitchName, backend.MacAddress, backend.DynamicMacAddressEnabled));
        Assert.Equal((OnOffState.Off, OnOffState.Off, OnOffState.Off, 0L), (first.MacAddressSpoofing, first.DhcpGuard, first.RouterGuard, first.BandwidthSetting.MaximumBandwidth));
        Assert.Equal((OnOffState.Off, OnOffState.On), (first.DeviceNaming, backend.DeviceNaming)); // Off unless asked, as in Hyper-V
        var vm = (VirtualMachine)Assert.Single((await Ps.RunAsync("Get-VM web01")).Ok()).BaseObject;
        Assert.Equal(vm.Id, first.VMId);
        Assert.Equal(["Network Adapter", "backend"], vm.NetworkAdapters.Select(a => a.Name));
        var all = (await Ps.RunAsync("Get-VMNetworkAdapter -All")).Ok().Select(o => (VMNetworkAdapter)o.BaseObject).ToList();
        Assert.Equal(3, all.Count);
        Assert.Equal(3, all.Select(a => a.MacAddress).Distinct().Count());
        string table = string.Concat((await Ps.RunAsync("Get-VMNetworkAdapter -VMName web* | Out-String -Width 200")).Ok().Select(o => o.BaseObject));
        output.WriteLine(table);
        Assert.Matches(@"^Name\s+IsManagementOs\s+VMName\s+SwitchName\s+MacAddress\s+Status\s+IPAddresses$", table.Split('\n').Select(l => l.Trim()).First(l => l.Length > 0));
        Assert.Contains("00155D0A0B0C", table);

        // Get-VMNetworkAdapter piped into Set-VMNetworkAdapter and Set-VMNetworkAdapterVlan.
        var set = (VMNetworkAdapter)Assert.Single((await Ps.RunAsync("""
            Get-VMNetworkAdapter -VMName web01 -Name 'Network Adapter' | Set-VMNetworkAdapter -MacAddressSpoofing On -DhcpGuard On -RouterGuard On -MaximumBandwidth 100000000 -DeviceNaming On -Passthru
            """)).Ok()).BaseObject;
        Assert.Equal((OnOffState.On, OnOffState.On, OnOffState.On, 100_000_000L, OnOffState.On), (set.MacAddressSpoofing, set.DhcpGuard, set.RouterGuard, set.BandwidthSetting.MaximumBandwidth, set.DeviceNaming));
        var vlans = (await Ps.RunAsync("""
            Get-VMNetworkAdapter web01 backend | Set-VMNetworkAdapterVlan -Access -VlanId 42
            Get-VM web01 | Get-VMNetworkAdapterVlan -VMNetworkAdapterName backend
            Get-VMNetworkAdapterVlan
            """)).Ok().Select(o => (VMNetworkAdapterVlanSetting)o.BaseObject).ToList();
        Assert.Equal((VMNetworkAdapterVlanMode.Access, 42, "backend"), (vlans[0].OperationMode, vlans[0].AccessVlanId, vlans[0].VMNetworkAdapterName));
        Assert.Equal(4, vlans.Count);
        // Without arguments: every adapter of every VM, the one on VLAN 42 among them.
        var onVlan = Assert.Single(vlans.Skip(1), v => v.OperationMode == VMNetworkAdapterVlanMode.Access);
        Assert.Equal((backend.Id, 42), (onVlan.AdapterId, onVlan.AccessVlanId));
        string vlanTable = string.Concat((await Ps.RunAsync("Get-VMNetworkAdapterVlan -VMName web01 | Out-String -Width 200")).Ok().Select(o => o.BaseObject));
        output.WriteLine(vlanTable);
        Assert.Matches(@"^VMName\s+VMNetworkAdapterName\s+Mode\s+VlanList$", vlanTable.Split('\n').Select(l => l.Trim()).First(l => l.Length > 0));
        Assert.Matches(@"web01\s+backend\s+Access\s+42", vlanTable);

        // The MAC address of an adapter of a VM that is Off: static, then back to the pool.
        var macs = (await Ps.RunAsync("""
            $a = Get-VMNetworkAdapter web01 backend | Set-VMNetworkAdapter -StaticMacAddress 00:15:5d:99:88:77 -Passthru
            "$($a.MacAddress) $($a.DynamicMacAddressEnabled)"
            $a = Get-VMNetworkAdapter web01 backend | Set-VMNetworkAdapter -DynamicMacAddress -Passthru
            "$($a.MacAddress -ne '00155D998877') $($a.DynamicMacAddressEnabled)"
            Get-VMNetworkAdapter web01 backend | Set-VMNetworkAdapterVlan -Untagged -Passthru | ForEach-Object { "$($_.OperationMode)" }
            """)).Ok().Select(o => o.BaseObject).ToList();
        Assert.Equal(["00155D998877 False", "True True", "Untagged"], macs);

        // Rename, connect, disconnect: by name and through the pipeline.
        var wiring = (await Ps.RunAsync("""
            $a = Rename-VMNetworkAdapter -VMName web01 -Name backend -NewName storage -Passthru
            "$($a.Name) '$($a.SwitchName)'"
            $a = Connect-VMNetworkAdapter -VMName web01 -Name storage -SwitchName lab -Passthru
            "$($a.Name) '$($a.SwitchName)'"
            Get-VMNetworkAdapter -VMName web01 | Disconnect-VMNetworkAdapter
            (Get-VMNetworkAdapter -VMName web01 | ForEach-Object { "$($_.Name) '$($_.SwitchName)'" }) -join ', '
            Get-VMNetworkAdapter -All | Where-Object SwitchName -eq 'lab' | ForEach-Object VMName
            $a = Connect-VMNetworkAdapter -VMName web01 -Name storage -VMSwitch (Get-VMSwitch lab) -Passthru
            "$($a.Name) '$($a.SwitchName)'"
            Disconnect-VMNetworkAdapter -VMName web01 -Name storage
            """)).Ok().Select(o => o.BaseObject).ToList();
        Assert.Equal(["storage ''", "storage 'lab'", "Network Adapter '', storage ''", "web02", "storage 'lab'"], wiring);

        // Errors are ErrorRecords with categories; the names that exist still go through.
        Assert.Equal(ErrorCategory.ObjectNotFound, Assert.Single((await Ps.RunAsync("Add-VMNetworkAdapter -VMName web01 -SwitchName nosuch")).Errors).CategoryInfo.Category);
        Assert.Equal(ErrorCategory.ObjectNotFound, Assert.Single((await Ps.RunAsync("Connect-VMNetworkAdapter web01 storage nosuch")).Errors).CategoryInfo.Category);
        Assert.Equal(ErrorCategory.InvalidArgument, Assert.Single((await Ps.RunAsync("Add-VMNetworkAdapter -VMName web01 -StaticMacAddress 0015ZZ")).Errors).CategoryInfo.Category);
        var missing = await Ps.RunAsync("Get-VMNetworkAdapter -VMName nosuchvm, web01 -Name storage | ForEach-Object Name; Disconnect-VMNetworkAdapter web01 nosuchnic, stor*");
        Assert.Equal(["storage"], missing.Output.Select(o => o.BaseObject));
        Assert.Equal([ErrorCategory.ObjectNotFound, ErrorCategory.ObjectNotFound], missing.Errors.Select(e => e.CategoryInfo.Category));
        Assert.Contains("no network adapter named 'nosuchnic'", missing.Errors[1].Exception.Message);
        var noVlan = Assert.Single((await Ps.RunAsync("Set-VMNetworkAdapterVlan -VMName web01 -Access")).Errors);
        Assert.Equal((ErrorCategory.InvalidArgument, "-Access needs -VlanId (1-4094)"), (noVlan.CategoryInfo.Category, noVlan.Exception.Message));
        var badVlan = Assert.Single((await Ps.RunAsync("Set-VMNetworkAdapterVlan -VMName web01 -Access -VlanId 5000")).Errors);
        Assert.Equal(("ParameterArgumentValidationError", ErrorCategory.InvalidData), (badVlan.FullyQualifiedErrorId.Split(',')[0], badVlan.CategoryInfo.Category));

        // -WhatIf changes nothing; removing a switch leaves its adapters on their VMs, disconnected.
        var after = (await Ps.RunAsync("""
            Get-VMNetworkAdapter -VMName web01 | Remove-VMNetworkAdapter -WhatIf
            Set-VMNetworkAdapter -VMName web01 -DhcpGuard Off -WhatIf
            @(Get-VMNetworkAdapter -VMName web01).Count
            (Get-VMNetworkAdapter web01 'Network Adapter').DhcpGuard
            Remove-VMSwitch lab -Force
            "'$((Get-VMNetworkAdapter -VMName web02).SwitchName)'"
            Remove-VMNetworkAdapter -VMName web01 -Name storage -Passthru | ForEach-Object Name
            Get-VM | Get-VMNetworkAdapter | Remove-VMNetworkAdapter
            @(Get-VMNetworkAdapter -All).Count
            """)).Ok().Select(o => o.BaseObject.ToString()).ToList();
        Assert.Equal(["2", "On", "''", "storage", "0"], after);
    }
}
