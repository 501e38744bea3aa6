using System.Text;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Hypervisor.Kvm;
using HyperSharp.Machine.State;
using Iced.Intel;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Machine.Tests.Pci;

/// <summary>
/// Hotplug through the whole machine on both backends, with a small guest standing in for the OS's ACPI code: it waits
/// for the hotplug GPE, acknowledges Device Check, later the Eject Request, and ejects the slot as _EJ0 does. The VM is
/// saved between the two, and the restored VM still has the hot-added disk, its slot and its label, and can remove it.
/// </summary>
public class PciHotplugMachineTests(ITestOutputHelper output)
{
    private static byte[] Guest() => TinyElf.Assemble(a =>
    {
        var waitAdd = a.CreateLabel(); var waitEject = a.CreateLabel(); var bad = a.CreateLabel();
        a.mov(dx, 0x620);                              // GPE0 status
        a.Label(ref waitAdd);
        a.pause(); a.@in(al, dx); a.test(al, 2); a.jz(waitAdd);
        a.@out(dx, al);                                // clear the event
        a.mov(dx, 0x630); a.@in(eax, dx); a.@out(dx, eax); a.mov(ebx, eax); // DeviceCheck: read, acknowledge
        a.mov(dx, 0x3F8); a.mov(al, (byte)'A'); a.@out(dx, al);
        a.mov(dx, 0x620);
        a.Label(ref waitEject);
        a.pause(); a.@in(al, dx); a.test(al, 2); a.jz(waitEject);
        a.@out(dx, al);
        a.mov(dx, 0x634); a.@in(eax, dx); a.@out(dx, eax);  // EjectRequest: read, acknowledge
        a.cmp(eax, ebx); a.jne(bad);                   // the slot that arrived is the one asked for
        a.mov(dx, 0x638); a.@out(dx, eax);             // Ejected (what the slot's _EJ0 writes)
        a.mov(dx, 0x63C); a.@in(eax, dx); a.test(eax, ebx); a.jnz(bad); // no longer occupied
        a.mov(dx, 0x3F8); a.mov(al, (byte)'E'); a.@out(dx, al);
        a.mov(dx, 0x604); a.mov(ax, (5 << 10) | (1 << 13)); a.@out(dx, ax); // S5
        a.hlt();
        a.Label(ref bad);
        a.mov(dx, 0x3F8); a.mov(al, (byte)'X'); a.@out(dx, al);
        a.hlt();
    });

    [Theory]
    [InlineData("kvm")]
    [InlineData("emulated")]
    public async Task HotAddSaveRestoreAndEjectWithASmallGuest(string backend)
    {
        if (backend == "kvm")
        {
            using var probe = new KvmHypervisor();
            if (!probe.Availability.IsAvailable) { output.WriteLine("skipped: /dev/kvm unusable: " + probe.Availability.Reason); return; }
        }
        IHypervisor NewHypervisor() => backend == "kvm" ? new KvmHypervisor() : new EmulatedHypervisor();
        string dir = Directory.CreateTempSubdirectory("hs-hpvm").FullName;
        try
        {
            string kernel = Path.Combine(dir, "guest.elf"), disk = Path.Combine(dir, "d.vhdx"), state = Path.Combine(dir, "vm.state");
            File.WriteAllBytes(kernel, Guest());
            HyperSharp.Vhdx.VirtualDisk.Create(disk, new HyperSharp.Vhdx.DiskCreateOptions { Capacity = 8 << 20 }).Dispose();
            var console = new StringBuilder();
            var config = new VmConfig { KernelPath = kernel, MemorySize = 64 << 20, ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine };
            int slot;
            var hypervisor = NewHypervisor();
            using (hypervisor as IDisposable)
            using (var vm = new VirtualMachineBuilder(hypervisor, config).Build())
            {
                var run = Task.Run(vm.Run);
                slot = vm.Hotplug.AddDisk(disk, label: "Data Disk 1");
                Assert.True(await LinuxPciHotplugTests.WaitFor(console, "A", 30, run), "the guest never saw the hotplug event");
                vm.Pause();
                vm.Save(state, SavedVmConfig.From(config), hypervisor.Name);
                vm.Resume();
                await vm.Hotplug.RemoveDiskAsync(slot, TimeSpan.FromSeconds(30));
                Assert.Empty(vm.Disks);
                Assert.Equal(VmStopReason.PowerOff, (await run).Reason);
                Assert.Equal("AE", console.ToString());
            }
            console.Clear();
            hypervisor = NewHypervisor();
            using (hypervisor as IDisposable)
            using (var vm = VirtualMachineBuilder.Restore(hypervisor, state, b => { lock (console) console.Append((char)b); }, output.WriteLine))
            {
                var attached = Assert.Single(vm.DiskAttachments);
                Assert.Equal((disk, slot, "Data Disk 1"), (attached.Path, attached.Slot, attached.Label));
                Assert.Equal("Data Disk 1", vm.Hotplug.GetSlotLabel(slot));
                var run = Task.Run(vm.Run);
                await vm.Hotplug.RemoveDiskAsync(slot, TimeSpan.FromSeconds(30));
                Assert.Equal(VmStopReason.PowerOff, (await run).Reason);
                Assert.Equal("E", console.ToString());
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task RemovalFailsClearlyWhenTheGuestIgnoresItAndSurpriseRemovalStillWorks()
    {
        string dir = Directory.CreateTempSubdirectory("hs-hpvm").FullName;
        try
        {
            string kernel = Path.Combine(dir, "guest.elf"), disk = Path.Combine(dir, "d.vhdx");
            File.WriteAllBytes(kernel, TinyElf.Assemble(a => { var spin = a.CreateLabel(); a.Label(ref spin); a.pause(); a.jmp(spin); }));
            HyperSharp.Vhdx.VirtualDisk.Create(disk, new HyperSharp.Vhdx.DiskCreateOptions { Capacity = 8 << 20 }).Dispose();
            using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig { KernelPath = kernel, MemorySize = 64 << 20, Log = output.WriteLine }).Build();
            var run = Task.Run(vm.Run);
            int slot = vm.Hotplug.AddDisk(disk, readOnly: true);
            var e = await Assert.ThrowsAsync<TimeoutException>(() => vm.Hotplug.RemoveDiskAsync(slot, TimeSpan.FromMilliseconds(300)));
            Assert.Contains($"PCI slot {slot}", e.Message);
            Assert.Single(vm.Disks);
            await vm.Hotplug.RemoveDiskAsync(slot, surprise: true);
            Assert.Empty(vm.Disks);
            using (File.Open(disk, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
            await Assert.ThrowsAsync<InvalidOperationException>(() => vm.Hotplug.RemoveDiskAsync(slot));
            Assert.NotEqual(slot, vm.Hotplug.AddDisk(disk, readOnly: true)); // the guest may still hold a stale device in the pulled slot
            await Assert.ThrowsAsync<InvalidOperationException>(() => vm.Hotplug.SurpriseRemoveDevice(1)); // the entropy device is the platform's own
            vm.Stop();
            await run;
        }
        finally { Directory.Delete(dir, true); }
    }
}
