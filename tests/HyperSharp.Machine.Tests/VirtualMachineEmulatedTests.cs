using System.Text;
using HyperSharp.Hypervisor.Emulated.Backend;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Machine.Tests;

/// <summary>The same machine on the Emulated backend: the software processor behind the backend contract.</summary>
public class VirtualMachineEmulatedTests(ITestOutputHelper output)
{
    [Fact]
    public void GuestRunsOnTheSoftwareProcessorWritesTheConsoleAndPowersOff()
    {
        string dir = Directory.CreateTempSubdirectory("hs-vm").FullName;
        try
        {
            string kernel = Path.Combine(dir, "guest.elf");
            File.WriteAllBytes(kernel, TinyElf.Assemble(a =>
            {
                var fail = a.CreateLabel();
                a.mov(dx, 0x3F8);
                a.cmp(__dword_ptr[rsi + 0x202], 0x53726448);
                a.jne(fail);
                // Program the PIT and read back a count through the backend's own 8254 (no exit).
                a.mov(al, 0x34); a.@out(0x43, al); a.mov(al, 0xFF); a.@out(0x40, al); a.@out(0x40, al);
                foreach (char c in "OK\n") { a.mov(al, (byte)c); a.@out(dx, al); }
                a.mov(dx, 0x604); a.mov(ax, (5 << 10) | (1 << 13)); a.@out(dx, ax);
                a.hlt();
                a.Label(ref fail);
                a.mov(al, (byte)'X'); a.@out(dx, al);
                a.hlt();
            }));
            var console = new StringBuilder();
            using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
            {
                KernelPath = kernel, MemorySize = 64 << 20,
                ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
            }).Build();
            var stopped = vm.Run();
            Assert.Equal("OK\n", console.ToString());
            Assert.Equal(VmStopReason.PowerOff, stopped.Reason);
        }
        finally { Directory.Delete(dir, true); }
    }
}
