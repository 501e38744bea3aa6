using System.Diagnostics;
using System.Text;
using HyperSharp.Hypervisor.Kvm;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests;

/// <summary>
/// The stock Debian kernel on our machine model under KVM. Our KVM emulates kernel code at about
/// 2 M instructions/s, so this follows the boot only until the kernel has read our boot_params (e820
/// map, command line) and our ACPI tables (MADT, MCFG) — the parts this machine provides. A full
/// boot to /init runs on the Emulated backend (and on KVM on real hardware).
/// </summary>
public class LinuxOnKvmTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DebianKernelReadsOurMemoryMapAndAcpiTables()
    {
        using var kvm = new KvmHypervisor();
        if (!kvm.Availability.IsAvailable) { output.WriteLine("skipped: /dev/kvm unusable: " + kvm.Availability.Reason); return; }
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var console = new StringBuilder();
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const string lastMarker = "ACPI: Using ACPI (MADT) for SMP configuration information";
        using var vm = new VirtualMachineBuilder(kvm, new VmConfig
        {
            KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = Path.Combine(kit, "initrd.img"), MemorySize = 256UL << 20,
            CommandLine = "console=ttyS0 earlyprintk=serial,ttyS0 hs.marker=boot-test",
            ConsoleOutput = b =>
            {
                lock (console)
                {
                    console.Append((char)b);
                    if (b == '\n' && console.ToString().Contains(lastMarker)) seen.TrySetResult();
                }
            },
            Log = output.WriteLine,
        }).Build();
        var sw = Stopwatch.StartNew();
        var run = Task.Run(vm.Run);
        bool reached = await BootProgress.WaitAsync(seen.Task, () => { lock (console) return console.Length; });
        vm.Stop();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        string log;
        lock (console) log = console.ToString();
        output.WriteLine($"{sw.Elapsed.TotalSeconds:F1} s of KVM boot:\n{log}");
        Assert.True(reached, $"the kernel did not reach MADT parsing: {BootProgress.Describe}");
        Assert.Contains("Command line: console=ttyS0 earlyprintk=serial,ttyS0 hs.marker=boot-test", log);
        Assert.Contains("BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable", log);
        Assert.Contains("BIOS-e820: [mem 0x00000000000e0000-0x00000000000fffff] ACPI data", log);
        Assert.Contains("ACPI: MCFG 0x", log);
        Assert.Contains("IOAPIC[0]: apic_id 254, version 17, address 0xfec00000, GSI 0-23", log);
        Assert.Contains("ACPI: INT_SRC_OVR (bus 0 bus_irq 9 global_irq 9 high level)", log);
        Assert.Contains("RAMDISK: [mem", log);
    }
}
