using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Tests;

/// <summary>
/// The configuration store on domain values, in process: no gRPC, no host process, no worker (every VM here stays Off).
/// "Not given" (null) takes the default or leaves the setting alone; a given value out of range is refused naming the
/// API's parameter, as the service's callers see it.
/// </summary>
public sealed class VmConfigurationStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("hs-store-").FullName;
    private readonly VmManager _manager;

    public VmConfigurationStoreTests() => _manager = new VmManager(_root, ["/bin/false"], _ => { });

    public void Dispose()
    {
        _manager.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private VmConfigurationStore Store => _manager.Configuration;

    private static VmConfiguration Stored(ManagedVm vm) => InventoryJson.Read<VmConfiguration>(vm.Folder.ConfigFile)!;

    private static void Refused(string parameter, Action action)
    {
        var e = Assert.Throws<HostException>(action);
        Assert.Equal((HostErrorKind.InvalidArgument, parameter), (e.Kind, e.Parameter));
    }

    [Fact]
    public void A_new_VM_takes_the_defaults_for_what_is_not_given_and_is_written_and_listed()
    {
        var vm = Store.Create(new NewVm("web"), ClientIdentity.Root);

        var c = vm.Config;
        Assert.Equal((2, 512L << 20, 1, "auto", "console=ttyS0", ""), (c.Generation, c.Memory.StartupBytes, c.Processor.Count, c.Backend, c.Boot.CommandLine, c.Notes));
        Assert.Empty(c.Disks);
        Assert.Same(vm, _manager.Find(new VmRef { Name = "WEB" }));
        Assert.Equal("web", Stored(vm).Name);
    }

    [Fact]
    public void A_given_zero_is_refused_where_not_giving_it_takes_the_default()
    {
        Refused("memory_startup_bytes", () => Store.Create(new NewVm("a") { MemoryStartupBytes = 0 }, ClientIdentity.Root));
        Refused("processor_count", () => Store.Create(new NewVm("a") { ProcessorCount = 0 }, ClientIdentity.Root));
        Refused("generation", () => Store.Create(new NewVm("a") { Generation = 3 }, ClientIdentity.Root));
        Refused("name", () => Store.Create(new NewVm(" a"), ClientIdentity.Root));
        Refused("new_vhd_size_bytes", () => Store.Create(new NewVm("a") { NewVhdPath = Path.Combine(_root, "a.vhdx"), NewVhdSizeBytes = 1 }, ClientIdentity.Root));
        Assert.Empty(_manager.List(null));
    }

    [Fact]
    public void A_change_sets_only_what_it_gives_and_a_rename_to_a_taken_name_is_refused()
    {
        var vm = Store.Create(new NewVm("one") { ProcessorCount = 2, Notes = "kept" }, ClientIdentity.Root);
        Store.Create(new NewVm("two"), ClientIdentity.Root);

        Store.Update(vm, new VmSettingsChange { NewName = "three", MemoryStartupBytes = 1L << 30 }, ClientIdentity.Root);
        Assert.Equal(("three", 2, "kept", 1L << 30), (vm.Name, vm.Config.Processor.Count, vm.Config.Notes, vm.Config.Memory.StartupBytes));
        Assert.Equal("three", Stored(vm).Name);

        var taken = Assert.Throws<HostException>(() => Store.Update(vm, new VmSettingsChange { NewName = "TWO" }, ClientIdentity.Root));
        Assert.Equal(HostErrorKind.AlreadyExists, taken.Kind);
        Refused("automatic_start_delay_seconds", () => Store.Update(vm, new VmSettingsChange { AutomaticStartDelaySeconds = -1 }, ClientIdentity.Root));
        Refused("automatic_stop_action", () => Store.Update(vm, new VmSettingsChange { AutomaticStopAction = AutomaticStopAction.Unspecified }, ClientIdentity.Root));
        Assert.Equal("three", vm.Name);
    }

    [Fact]
    public void Processor_settings_are_checked_each_naming_its_parameter()
    {
        var vm = Store.Create(new NewVm("cpu"), ClientIdentity.Root);
        Store.SetProcessor(vm, new ProcessorChange { Count = 4, Maximum = 50, RelativeWeight = 200 });
        Assert.Equal((4, 50, 200), (vm.Config.Processor.Count, vm.Config.Processor.Maximum, vm.Config.Processor.RelativeWeight));

        Refused("count", () => Store.SetProcessor(vm, new ProcessorChange { Count = RequestValidation.MaxProcessors + 1 }));
        Refused("maximum", () => Store.SetProcessor(vm, new ProcessorChange { Maximum = 0 }));
        Refused("reserve", () => Store.SetProcessor(vm, new ProcessorChange { Reserve = 101 }));
        Assert.Equal(4, Stored(vm).Processor.Count);
    }

    [Fact]
    public async Task Memory_of_a_VM_that_is_off_is_stored()
    {
        var vm = Store.Create(new NewVm("mem"), ClientIdentity.Root);
        await _manager.Memory.SetAsync(vm, new VmMemoryChange { StartupBytes = 1L << 30, Buffer = 40 });
        Assert.Equal((1L << 30, 40), (vm.Config.Memory.StartupBytes, vm.Config.Memory.Buffer));
        await Assert.ThrowsAsync<HostException>(() => _manager.Memory.SetAsync(vm, new VmMemoryChange { Priority = 101 }));
        Assert.Equal(50, vm.Config.Memory.Priority);
    }

    [Fact]
    public async Task Drives_are_found_by_location_and_a_removed_VM_is_gone()
    {
        var vm = Store.Create(new NewVm("disks"), ClientIdentity.Root);
        var missing = await Assert.ThrowsAsync<HostException>(() => Store.RemoveDiskAsync(vm, new DriveLocation(ControllerType.Unspecified, 0, 5), CancellationToken.None));
        Assert.Equal(HostErrorKind.NotFound, missing.Kind);
        Assert.Contains("Scsi controller 0 at location 5", missing.Message);
        Refused("path", () => Store.AddDiskAsync(vm, new NewDiskDrive(null, false, ControllerType.Scsi, 0, null), ClientIdentity.Root, CancellationToken.None).GetAwaiter().GetResult());

        await Store.RemoveAsync(vm, force: false, CancellationToken.None);
        Assert.Empty(_manager.List(null));
        Assert.False(Directory.Exists(vm.Folder.Path));
    }

    [Fact]
    public async Task Network_adapters_take_domain_values_too()
    {
        _manager.Recover(); // reads the (empty) inventory and builds the MAC address pool
        var vm = Store.Create(new NewVm("net"), ClientIdentity.Root);
        var added = await _manager.Networking.AddAdapterAsync(vm, new NewNetworkAdapter(null, null, null), CancellationToken.None);
        Assert.Equal(("Network Adapter", true), (added.Name, added.DynamicMacAddress));

        var adapter = new AdapterRef("", "network ADAPTER");
        var e = await Assert.ThrowsAsync<HostException>(() => _manager.Networking.UpdateAdapterAsync(vm, adapter, new NetworkAdapterChange { AccessVlanId = 4095 }, CancellationToken.None));
        Assert.Equal((HostErrorKind.InvalidArgument, "access_vlan_id"), (e.Kind, e.Parameter));
        await _manager.Networking.UpdateAdapterAsync(vm, adapter, new NetworkAdapterChange { NewName = "lan", AccessVlanId = 7 }, CancellationToken.None);
        Assert.Equal(("lan", 7), (vm.Config.NetworkAdapters[0].Name, vm.Config.NetworkAdapters[0].AccessVlanId));

        await _manager.Networking.RemoveAdapterAsync(vm, new AdapterRef("", "lan"), CancellationToken.None);
        Assert.Empty(Stored(vm).NetworkAdapters);
    }
}
