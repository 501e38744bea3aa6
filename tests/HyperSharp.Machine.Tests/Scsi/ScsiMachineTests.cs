using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine.State;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Scsi;

/// <summary>SCSI controllers through the whole machine: limits, a disk attached while running, and a save and restore that rebuilds both (one controller behind a bridge).</summary>
public class ScsiMachineTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ControllersAndTheirDisksSurviveSaveAndRestoreAndBadRequestsAreRefusedClearly()
    {
        string dir = Directory.CreateTempSubdirectory("hs-scsivm").FullName;
        try
        {
            string kernel = Path.Combine(dir, "guest.elf"), a = Path.Combine(dir, "a.vhdx"), b = Path.Combine(dir, "b.vhdx"), state = Path.Combine(dir, "vm.state");
            File.WriteAllBytes(kernel, TinyElf.Assemble(asm => { var spin = asm.CreateLabel(); asm.Label(ref spin); asm.pause(); asm.jmp(spin); }));
            foreach (var path in new[] { a, b }) VirtualDisk.Create(path, new DiskCreateOptions { Capacity = 8 << 20 }).Dispose();
            var config = new VmConfig
            {
                KernelPath = kernel, MemorySize = 64 << 20, Log = output.WriteLine,
                ScsiControllers = [new ScsiControllerAttachment { Label = "SCSI 0", Disks = [new ScsiDiskAttachment(a, 5)] }, new ScsiControllerAttachment { Slot = 40, Label = "SCSI 1" }],
            };
            Assert.Throws<ArgumentOutOfRangeException>(() => new VirtualMachineBuilder(new EmulatedHypervisor(), config with
            {
                ScsiControllers = [.. Enumerable.Range(0, 5).Select(_ => new ScsiControllerAttachment())],
            }).Build());
            var hypervisor = new EmulatedHypervisor();
            using (var vm = new VirtualMachineBuilder(hypervisor, config).Build())
            {
                var run = Task.Run(vm.Run);
                vm.Scsi.Attach(1, new ScsiDiskAttachment(b, 63, ReadOnly: true));
                Assert.Contains("already holds", Assert.Throws<InvalidOperationException>(() => vm.Scsi.Attach(0, new ScsiDiskAttachment(b, 5))).Message);
                Assert.Contains("locations 0 to 63", Assert.Throws<ArgumentOutOfRangeException>(() => vm.Scsi.Attach(0, new ScsiDiskAttachment(b, 64))).Message);
                Assert.Contains("does not exist", Assert.Throws<ArgumentOutOfRangeException>(() => vm.Scsi.Attach(2, new ScsiDiskAttachment(b, 0))).Message);
                await Assert.ThrowsAsync<InvalidOperationException>(() => vm.Scsi.DetachAsync(0, 6));
                vm.Pause();
                vm.Save(state, SavedVmConfig.From(config), hypervisor.Name);
                vm.Stop();
                await run;
            }
            using (var vm = VirtualMachineBuilder.Restore(new EmulatedHypervisor(), state, _ => { }, output.WriteLine))
            {
                var controllers = vm.Scsi.Attachments();
                Assert.Equal(2, controllers.Length);
                Assert.Equal("SCSI 0", controllers[0].Label);
                Assert.Equal((40, "SCSI 1"), (controllers[1].Slot, controllers[1].Label)); // behind bridge 1: slot, label and transport state restored there
                Assert.Equal("SCSI 1", vm.Hotplug.GetSlotLabel(40));
                Assert.Equal((a, 5, false), (controllers[0].Disks.Single().Path, controllers[0].Disks.Single().Location, controllers[0].Disks.Single().ReadOnly));
                Assert.Equal((b, 63, true), (controllers[1].Disks.Single().Path, controllers[1].Disks.Single().Location, controllers[1].Disks.Single().ReadOnly));
                Assert.True(vm.Scsi.DiskAt(1, 63)!.IsReadOnly);
                await vm.Scsi.DetachAsync(0, 5);
                Assert.Null(vm.Scsi.DiskAt(0, 5));
                using (File.Open(a, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { } // flushed and closed
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task AScsiDiskIsCheckpointedAndLimitedByItsDriveNameAndTheNameSurvivesARestore()
    {
        string dir = Directory.CreateTempSubdirectory("hs-scsiswitch").FullName;
        try
        {
            string kernel = Path.Combine(dir, "guest.elf"), image = Path.Combine(dir, "a.vhdx"), child = Path.Combine(dir, "a_1.avhdx"), state = Path.Combine(dir, "vm.state");
            const string name = "Hard Drive on SCSI controller number 0 at location 2";
            File.WriteAllBytes(kernel, TinyElf.Assemble(asm => { var spin = asm.CreateLabel(); asm.Label(ref spin); asm.pause(); asm.jmp(spin); }));
            VirtualDisk.Create(image, new DiskCreateOptions { Capacity = 8 << 20 }).Dispose();
            var config = new VmConfig
            {
                KernelPath = kernel, MemorySize = 64 << 20, Log = output.WriteLine,
                ScsiControllers = [new ScsiControllerAttachment { Disks = [new ScsiDiskAttachment(image, 2) { Label = name }] }],
            };
            var hypervisor = new EmulatedHypervisor();
            using (var vm = new VirtualMachineBuilder(hypervisor, config).Build())
            {
                var run = Task.Run(vm.Run);
                Assert.Equal([name], vm.DiskLabels);
                Assert.True(vm.SetDiskQos(name, 500, 0));
                Assert.False(vm.SetDiskQos("Hard Drive on SCSI controller number 0 at location 3", 500, 0));
                vm.Scsi.DiskAt(0, 2)!.Write(0, "before"u8);
                vm.Pause();
                vm.SwitchDisksToChildren(new Dictionary<string, string> { [image] = child });
                Assert.Equal(child, vm.Scsi.DiskAt(0, 2)!.Path); // the LUN goes on in the child, the device unaware
                Assert.Equal(image, vm.Scsi.DiskAt(0, 2)!.Parent!.Path);
                Assert.Equal(child, vm.Scsi.Attachments()[0].Disks.Single().Path);
                vm.Save(state, SavedVmConfig.From(config), hypervisor.Name);
                vm.Stop();
                await run;
            }
            using (var vm = VirtualMachineBuilder.Restore(new EmulatedHypervisor(), state, _ => { }, output.WriteLine))
            {
                var disk = vm.Scsi.Attachments()[0].Disks.Single();
                Assert.Equal((child, 2, name), (disk.Path, disk.Location, disk.Label));
                Assert.True(vm.SetDiskQos(name, 0, 0));
                var seen = new byte[6];
                vm.Scsi.DiskAt(0, 2)!.Read(0, seen);
                Assert.Equal("before"u8.ToArray(), seen);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ASharedFixedDiskOpensForSeveralWritersAndADynamicOneIsRefused()
    {
        string dir = Directory.CreateTempSubdirectory("hs-scsishared").FullName;
        try
        {
            string kernel = Path.Combine(dir, "guest.elf"), fixedDisk = Path.Combine(dir, "quorum.vhdx"), dynamic = Path.Combine(dir, "dyn.vhdx");
            File.WriteAllBytes(kernel, TinyElf.Assemble(asm => asm.hlt()));
            VirtualDisk.Create(fixedDisk, new DiskCreateOptions { Capacity = 8 << 20, Type = DiskType.Fixed }).Dispose();
            VirtualDisk.Create(dynamic, new DiskCreateOptions { Capacity = 8 << 20 }).Dispose();
            var config = new VmConfig
            {
                KernelPath = kernel, MemorySize = 64 << 20, Log = output.WriteLine,
                ScsiControllers = [new ScsiControllerAttachment { Disks = [new ScsiDiskAttachment(fixedDisk, 0, Shared: true)] }],
            };
            using var first = new VirtualMachineBuilder(new EmulatedHypervisor(), config).Build();
            using var second = new VirtualMachineBuilder(new EmulatedHypervisor(), config).Build(); // another node of the guest cluster
            first.Scsi.DiskAt(0, 0)!.Write(4096, "from the first VM"u8);
            var seen = new byte[17];
            second.Scsi.DiskAt(0, 0)!.Read(4096, seen);
            Assert.Equal("from the first VM", System.Text.Encoding.ASCII.GetString(seen));
            var refused = Assert.Throws<VirtualDiskException>(() => first.Scsi.Attach(0, new ScsiDiskAttachment(dynamic, 1, Shared: true)));
            Assert.Contains("cannot be shared", refused.Message);
            Assert.Throws<IOException>(() => VirtualDisk.Open(fixedDisk)); // an exclusive opener still is kept out
        }
        finally { Directory.Delete(dir, true); }
    }
}
