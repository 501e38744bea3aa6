using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine;

// Boots KERNEL with INITRD on the Emulated backend with one SCSI controller holding SCSI_IMAGE at location 0 (the
// guest's /dev/sda) and BLK_IMAGE on virtio-blk (/dev/vda), console on stdout, until the guest powers off.
if (args.Length is < 4 or > 5)
{
    Console.Error.WriteLine("usage: HyperSharp.StorageBench KERNEL INITRD SCSI_IMAGE BLK_IMAGE [MEMORY_MIB]");
    return 2;
}
var stdout = Console.OpenStandardOutput();
using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
{
    KernelPath = args[0], InitrdPath = args[1], MemorySize = (args.Length > 4 ? ulong.Parse(args[4]) : 512UL) << 20,
    CommandLine = "console=ttyS0",
    Disks = [new DiskAttachment(args[3])],
    ScsiControllers = [new ScsiControllerAttachment { Disks = [new ScsiDiskAttachment(args[2], 0)] }],
    ConsoleOutput = b => stdout.WriteByte(b),
    Log = Console.Error.WriteLine,
}).Build();
var stopped = vm.Run();
stdout.Flush();
return stopped.Reason == VmStopReason.PowerOff ? 0 : 1;
