using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine.Memory;

namespace HyperSharp.Machine.Tests.Virtio.Memory;

/// <summary>
/// MemoryResize on a built machine whose guest has no drivers: how a target splits into hot-add and balloon, what is
/// refused and why, and a resize the guest never answers is withdrawn when the wait ends (the guest's memory unchanged).
/// </summary>
public sealed class MemoryResizeTests : IDisposable
{
    private const ulong Boot = 64UL << 20, Room = 1UL << 30;
    private readonly string _dir = Directory.CreateTempSubdirectory("hs-resize").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private VirtualMachine Build(RuntimeMemoryAttachment? runtime)
    {
        string kernel = Path.Combine(_dir, "halt.elf");
        File.WriteAllBytes(kernel, TinyElf.Assemble(a => { a.cli(); a.hlt(); }));
        return new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig { KernelPath = kernel, MemorySize = Boot, PciBridges = 0, RuntimeMemory = runtime }).Build();
    }

    [Fact]
    public void A_target_above_the_boot_size_is_hot_added_and_one_below_it_ballooned()
    {
        Assert.Equal((0UL, 0UL), MemoryResize.Split(Boot, Boot));
        Assert.Equal((Room, 0UL), MemoryResize.Split(Boot, Boot + Room));
        Assert.Equal((2UL << 20, 0UL), MemoryResize.Split(Boot, Boot + 4096));    // hot-add goes by 2 MiB blocks
        Assert.Equal((0UL, 32UL << 20), MemoryResize.Split(Boot, Boot - (32UL << 20)));
    }

    [Fact]
    public void Growth_without_hot_add_or_past_its_room_and_shrinking_without_a_balloon_are_refused_with_the_reason()
    {
        using (var plain = Build(null))
        {
            Assert.Equal(Boot, MemoryResize.Assigned(plain));
            Assert.Null(MemoryResize.Refusal(plain, Boot));
            Assert.Contains("without hot-add memory", MemoryResize.Refusal(plain, 2 * Boot));
            Assert.Contains("without a memory balloon", MemoryResize.Refusal(plain, Boot / 2));
        }
        using var resizable = Build(new RuntimeMemoryAttachment { MaximumSize = Boot + Room });
        Assert.Null(MemoryResize.Refusal(resizable, Boot + Room));
        Assert.Contains($"at most {(Boot + Room) >> 20} MiB", MemoryResize.Refusal(resizable, Boot + Room + (2UL << 20)));
    }

    [Fact]
    public async Task A_resize_the_guest_does_not_answer_is_withdrawn_when_the_wait_ends()
    {
        using var vm = Build(new RuntimeMemoryAttachment { MaximumSize = Boot + Room });
        var grow = await MemoryResize.ResizeAsync(vm, Boot + Room, TimeSpan.FromMilliseconds(50));
        Assert.Equal((Boot, Room, false), (grow.AssignedBytes, grow.ShortBytes, grow.Complete));
        Assert.Equal(0UL, vm.HotAdd!.RequestedBytes);
        var shrink = await MemoryResize.ResizeAsync(vm, Boot / 2, TimeSpan.Zero);
        Assert.Equal((Boot, Boot / 2), (shrink.AssignedBytes, shrink.ShortBytes));
        Assert.Equal(0UL, vm.Balloon!.TargetBytes);
        await Assert.ThrowsAsync<InvalidOperationException>(() => MemoryResize.ResizeAsync(vm, 4 * Room, TimeSpan.Zero));
    }
}
