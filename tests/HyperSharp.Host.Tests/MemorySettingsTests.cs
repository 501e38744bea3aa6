using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Host.Service.Memory;
using HyperSharp.Inventory;
using HyperSharp.Worker;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Set-VMMemory's settings without a host: the ranges (Buffer 5-2000 %, Priority 0-100, the wait), which changes need
/// the VM Off, the hot-add room each kind of memory gets, MemoryStatus, what the worker builds, and vm.json files from
/// before runtime resize.
/// </summary>
public class MemorySettingsTests
{
    private static readonly MemorySettings Static = new() { StartupBytes = 512L << 20, MinimumBytes = 512L << 20, MaximumBytes = 1L << 40 };

    private static void Refused(string parameter, string allowed, VmMemoryChange request)
    {
        var e = Assert.Throws<HostException>(() => { MemorySettingsRequest.Apply(Static, request); MemorySettingsRequest.Wait(request); });
        Assert.Equal((HostErrorKind.InvalidArgument, parameter), (e.Kind, e.Parameter));
        Assert.Contains(allowed, e.Message);
    }

    [Fact]
    public void Each_bad_value_is_refused_naming_its_parameter()
    {
        Refused("buffer", "5", new VmMemoryChange { Buffer = 4 });
        Refused("buffer", "2000", new VmMemoryChange { Buffer = 2001 });
        Refused("priority", "100", new VmMemoryChange { Priority = 101 });
        Refused("priority", "0", new VmMemoryChange { Priority = -1 });
        Refused("startup_bytes", "MiB", new VmMemoryChange { StartupBytes = 1 << 20 });
        Refused("minimum_bytes", "minimum", new VmMemoryChange { DynamicMemoryEnabled = true, MinimumBytes = 1L << 30 });
        Refused("maximum_bytes", "maximum", new VmMemoryChange { DynamicMemoryEnabled = true, MaximumBytes = 256L << 20 });
        Refused("wait_seconds", "600", new VmMemoryChange { WaitSeconds = 601 });
        Refused("wait_seconds", "1", new VmMemoryChange { WaitSeconds = -1 });
    }

    [Fact]
    public void Defaults_are_hyper_vs_and_good_values_are_stored()
    {
        Assert.Equal((20, 50), (new MemorySettings().Buffer, new MemorySettings().Priority));
        var m = MemorySettingsRequest.Apply(Static, new VmMemoryChange { Buffer = 2000, Priority = 0, DynamicMemoryEnabled = true, MinimumBytes = 256L << 20, MaximumBytes = 4L << 30 });
        Assert.Equal((2000, 0, true, 256L << 20, 4L << 30), (m.Buffer, m.Priority, m.DynamicMemoryEnabled, m.MinimumBytes, m.MaximumBytes));
        Assert.Equal(TimeSpan.FromSeconds(30), MemorySettingsRequest.Wait(new VmMemoryChange()));
    }

    [Fact]
    public void The_settings_that_decide_the_hardware_need_the_vm_off()
    {
        Assert.Null(MemorySettingsRequest.NeedsOff(Static, Static with { StartupBytes = 1L << 30, Buffer = 50, Priority = 10 }));
        Assert.Equal("DynamicMemoryEnabled, MaximumBytes, RuntimeResizeEnabled",
            MemorySettingsRequest.NeedsOff(Static, Static with { DynamicMemoryEnabled = true, MaximumBytes = 2L << 30, RuntimeResize = true }));
        var dynamic = Static with { DynamicMemoryEnabled = true, MinimumBytes = 256L << 20, MaximumBytes = 4L << 30 };
        Assert.Null(MemorySettingsRequest.NeedsOff(dynamic, dynamic with { MinimumBytes = 128L << 20, MaximumBytes = 2L << 30 }));
        Assert.Equal("MinimumBytes, MaximumBytes", MemorySettingsRequest.NeedsOff(dynamic, dynamic with { MinimumBytes = 512L << 20, MaximumBytes = 8L << 30 }));
    }

    [Fact]
    public void Hot_add_room_is_the_maximum_for_dynamic_memory_and_bounded_for_static()
    {
        Assert.Equal(0, Static.HotAddBytes());
        var resizable = Static with { RuntimeResize = true };
        Assert.Equal(1536L << 20, resizable.HotAddBytes());                                      // 512 MiB may grow to 2 GiB
        Assert.Equal(1L << 30, (resizable with { StartupBytes = 64L << 20 }).HotAddBytes());       // at least 1 GiB
        Assert.Equal(64L << 30, (resizable with { StartupBytes = 1L << 40 }).HotAddBytes());       // at most 64 GiB
        Assert.Equal(3L << 30, (Static with { DynamicMemoryEnabled = true, StartupBytes = 1L << 30, MaximumBytes = 4L << 30 }).HotAddBytes());
    }

    [Fact]
    public void Memory_status_is_empty_for_static_memory_and_compares_demand_with_the_buffer_for_dynamic()
    {
        var dynamic = Static with { DynamicMemoryEnabled = true, Buffer = 20 };
        Assert.Equal("", MemoryStatus.Of(Static, 100, 200));
        Assert.Equal("OK", MemoryStatus.Of(dynamic, 1000, 0));
        Assert.Equal("OK", MemoryStatus.Of(dynamic, 1200, 1000));
        Assert.Equal("Low", MemoryStatus.Of(dynamic, 1100, 1000));
        Assert.Equal("Warning", MemoryStatus.Of(dynamic, 900, 1000));
    }

    [Fact]
    public void The_worker_builds_a_balloon_and_hot_add_memory_only_for_resizable_memory()
    {
        VmConfiguration Config(MemorySettings m) => new() { Id = Guid.NewGuid(), Name = "v", Memory = m, Boot = new BootSettings { KernelPath = "/k" } };
        Assert.Null(MachineConfiguration.From(Config(Static), _ => { }, _ => { }).RuntimeMemory);
        var resizable = MachineConfiguration.From(Config(Static with { RuntimeResize = true }), _ => { }, _ => { }).RuntimeMemory!;
        Assert.Equal((2048UL << 20, false), (resizable.MaximumSize, resizable.DeflateOnOutOfMemory));
        var dynamic = MachineConfiguration.From(Config(Static with { DynamicMemoryEnabled = true, MaximumBytes = 3L << 30 }), _ => { }, _ => { }).RuntimeMemory!;
        Assert.Equal((3UL << 30, true), (dynamic.MaximumSize, dynamic.DeflateOnOutOfMemory));
    }

    [Fact]
    public void A_guest_reset_after_a_resize_boots_with_the_memory_it_had_and_that_sizes_hot_add_room()
    {
        var settings = Static with { RuntimeResize = true };
        var machine = MachineConfiguration.From(new VmConfiguration { Id = Guid.NewGuid(), Name = "v", Memory = settings, Boot = new BootSettings { KernelPath = "/k" } }, _ => { }, _ => { });
        Assert.Same(machine, MachineConfiguration.WithMemory(machine, settings, 512UL << 20));
        var grown = MachineConfiguration.WithMemory(machine, settings, 1UL << 30);
        Assert.Equal((1UL << 30, 4UL << 30), (grown.MemorySize, grown.RuntimeMemory!.MaximumSize));
    }

    [Fact]
    public void A_version_2_vm_json_loads_with_runtime_resize_off_and_the_next_save_writes_the_current_version()
    {
        string dir = Directory.CreateTempSubdirectory("hs-vmjson").FullName;
        try
        {
            string file = Path.Combine(dir, "vm.json");
            File.WriteAllText(file, $$$"""
                {"version":2,"id":"{{{Guid.NewGuid()}}}","name":"old","memory":{"startupBytes":536870912,"dynamicMemoryEnabled":false,"minimumBytes":536870912,"maximumBytes":1099511627776,"buffer":20,"priority":50},"boot":{"kernelPath":"/k"}}
                """);
            var config = VmInventory.ReadConfiguration(file)!;
            Assert.Equal((VmConfiguration.CurrentVersion, false, 0L), (config.Version, config.Memory.RuntimeResize, config.Memory.HotAddBytes()));
            Assert.Equal(512L << 20, config.Memory.StartupBytes);
        }
        finally { Directory.Delete(dir, true); }
    }
}
