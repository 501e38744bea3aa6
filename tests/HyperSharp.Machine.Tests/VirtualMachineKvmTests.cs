using System.Text;
using HyperSharp.Hypervisor.Kvm;
using HyperSharp.Machine.Acpi;
using Iced.Intel;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Machine.Tests;

/// <summary>The whole machine (loader, chipset, ACPI PM, PCI) on the Kvm backend with a small freestanding guest.</summary>
public class VirtualMachineKvmTests(ITestOutputHelper output)
{
    private static bool KvmUsable(out string why)
    {
        using var kvm = new KvmHypervisor();
        why = kvm.Availability.Reason ?? "";
        return kvm.Availability.IsAvailable;
    }

    [Fact]
    public void GuestEntersAt64BitEntryWritesTheConsoleAndPowersOffThroughAcpi()
    {
        if (!KvmUsable(out string why)) { output.WriteLine("skipped: /dev/kvm unusable: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-vm").FullName;
        try
        {
            string kernel = Path.Combine(dir, "guest.elf");
            File.WriteAllBytes(kernel, TinyElf.Assemble(a =>
            {
                var fail = a.CreateLabel();
                a.mov(dx, 0x3F8);
                a.cmp(__dword_ptr[rsi + 0x202], 0x53726448); // boot_params in RSI carries the "HdrS" header
                a.jne(fail);
                foreach (char c in "OK\n") { a.mov(al, (byte)c); a.@out(dx, al); }
                a.mov(dx, 0x600 + 4);                          // PM1a_CNT: SLP_TYP=5 (our \_S5), SLP_EN
                a.mov(ax, (5 << 10) | (1 << 13));
                a.@out(dx, ax);
                a.hlt();
                a.Label(ref fail);
                a.mov(al, (byte)'X'); a.@out(dx, al);
                a.hlt();
            }));
            var console = new StringBuilder();
            using var kvm = new KvmHypervisor();
            using var vm = new VirtualMachineBuilder(kvm, new VmConfig
            {
                KernelPath = kernel, MemorySize = 64 << 20, CommandLine = "console=ttyS0",
                ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
            }).Build();
            var stopped = vm.Run();
            output.WriteLine($"console: {console}; stopped: {stopped}");
            Assert.Equal("OK\n", console.ToString());
            Assert.Equal(VmStopReason.PowerOff, stopped.Reason);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void GuestReadsItsPciDiskIdentityThroughConfigPorts()
    {
        if (!KvmUsable(out string why)) { output.WriteLine("skipped: /dev/kvm unusable: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-vm").FullName;
        try
        {
            string disk = Path.Combine(dir, "d.vhdx");
            using (HyperSharp.Vhdx.VirtualDisk.Create(disk, new HyperSharp.Vhdx.DiskCreateOptions { Capacity = 16 << 20 })) { }
            string kernel = Path.Combine(dir, "guest.elf");
            // Read vendor/device of slot 1 through CF8/CFC and print it in hex on COM1, then power off.
            File.WriteAllBytes(kernel, TinyElf.Assemble(a =>
            {
                a.mov(eax, 0x8000_0800u); a.mov(dx, 0xCF8); a.@out(dx, eax);
                a.mov(dx, 0xCFC); a.@in(eax, dx);
                a.mov(ebx, eax);
                a.mov(ecx, 8);
                var loop = a.CreateLabel(); var digit = a.CreateLabel();
                a.Label(ref loop);
                a.rol(ebx, 4);
                a.mov(eax, ebx); a.and(eax, 0xF); a.add(eax, (byte)'0');
                a.cmp(eax, (byte)'9'); a.jbe(digit); a.add(eax, 7);
                a.Label(ref digit);
                a.mov(dx, 0x3F8); a.@out(dx, al);
                a.dec(ecx); a.jnz(loop);
                a.mov(dx, 0x604); a.mov(ax, (5 << 10) | (1 << 13)); a.@out(dx, ax);
                a.hlt();
            }));
            var console = new StringBuilder();
            using var kvm = new KvmHypervisor();
            using var vm = new VirtualMachineBuilder(kvm, new VmConfig
            {
                KernelPath = kernel, MemorySize = 64 << 20, Disks = [new DiskAttachment(disk)],
                ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
            }).Build();
            Assert.Equal(VmStopReason.PowerOff, vm.Run().Reason);
            Assert.Equal("10421AF4", console.ToString()); // device 0x1042 (virtio-blk, modern), vendor 0x1AF4
        }
        finally { Directory.Delete(dir, true); }
    }
}
