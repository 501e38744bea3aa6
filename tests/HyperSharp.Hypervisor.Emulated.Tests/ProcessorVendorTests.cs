using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>
/// The presented vendor: what CPUID and the vendor-specific MSRs say for each, how the choice reaches the processor
/// (partition options), and that one memory's processors present one vendor. (That each vendor's undefined results
/// are its hardware's is what the differential tests and the recorded corpora prove.)
/// </summary>
public class ProcessorVendorTests
{
    [Theory]
    [InlineData(ProcessorVendor.Intel, "GenuineIntel", 6, 0x1C)]
    [InlineData(ProcessorVendor.Amd, "AuthenticAMD", 0x14, 0x2)]
    public void Cpuid_presents_the_vendor_with_its_leaves(ProcessorVendor vendor, string vendorString, int family, int model)
    {
        using var m = new TestMachine(vendor: vendor);
        m.Load(a =>
        {
            a.mov(rdi, TestMachine.Data);
            a.xor(eax, eax); a.cpuid(); a.mov(__dword_ptr[rdi], ebx); a.mov(__dword_ptr[rdi + 4], edx); a.mov(__dword_ptr[rdi + 8], ecx);
            a.mov(eax, 1); a.cpuid(); a.mov(r8d, eax);
            a.mov(eax, 7); a.xor(ecx, ecx); a.cpuid(); a.mov(r9d, ebx);
            a.mov(eax, 0x80000000); a.cpuid(); a.mov(r10d, ebx);
            a.mov(eax, 0x80000001); a.cpuid(); a.mov(r11d, edx); a.mov(r12d, eax);
            a.mov(eax, 0x15); a.cpuid(); a.mov(r13d, ecx);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(vendorString, System.Text.Encoding.ASCII.GetString(m.Memory.Span(TestMachine.Data, 12)));
        uint signature = (uint)m.Cpu[Gpr.R8];
        int f = (int)((signature >> 8) & 0xF), mo = (int)((signature >> 4) & 0xF);
        if (f == 0xF) f += (int)((signature >> 20) & 0xFF);
        if (f is 6 or >= 0xF) mo |= (int)((signature >> 16) & 0xF) << 4;
        Assert.Equal((family, model), (f, mo));
        bool amd = vendor == ProcessorVendor.Amd;
        // The TSC leaf 15h is Intel's; AMD repeats the vendor in 80000000h and leaf 1's signature and base features (FPU,
        // bit 0) in 80000001h. Both: long mode, IA32_TSC_ADJUST (leaf 7 EBX bit 1).
        Assert.NotEqual(0UL, m.Cpu[Gpr.R9] & 2);
        Assert.Equal(amd ? 0x68747541UL : 0, m.Cpu[Gpr.R10]); // "Auth"
        Assert.Equal(amd, (m.Cpu[Gpr.R11] & 1) != 0);
        Assert.NotEqual(0UL, m.Cpu[Gpr.R11] & (1UL << 29));
        Assert.Equal(amd ? signature : 0, (uint)m.Cpu[Gpr.R12]);
        Assert.Equal(amd ? 0 : (ulong)X86Cpu.TscHz, m.Cpu[Gpr.R13]);
    }

    [Theory]
    [InlineData(ProcessorVendor.Intel, 0xC0010015U, false)] // HWCR
    [InlineData(ProcessorVendor.Amd, 0xC0010015U, true)]
    [InlineData(ProcessorVendor.Intel, 0xC001001FU, false)] // NB_CFG
    [InlineData(ProcessorVendor.Amd, 0xC001001FU, true)]
    public void Vendor_specific_msrs_exist_only_on_their_vendor(ProcessorVendor vendor, uint msr, bool exists)
    {
        using var m = new TestMachine(vendor: vendor);
        m.Load(a => { a.mov(ecx, msr); a.rdmsr(); a.hlt(); });
        m.Run();
        Assert.Equal(exists ? TestMachine.NoVector : (ulong)Vec.GP, m.Vector);
        if (exists && msr == ModelSpecificRegisters.AmdHwcr) Assert.NotEqual(0UL, m.Cpu[Gpr.Rax] & (1UL << 24)); // TscFreqSel: the TSC counts at P0
    }

    [Fact]
    public void The_partition_options_choose_the_vendor_and_intel_is_the_default()
    {
        foreach (var (choice, expected) in new (ProcessorVendor?, ProcessorVendor)[] { (null, ProcessorVendor.Intel), (ProcessorVendor.Amd, ProcessorVendor.Amd) })
        {
            using var memory = GuestMemory.Allocate(1 << 20);
            using var partition = (EmulatedPartition)new EmulatedHypervisor().CreatePartition(new PartitionOptions { Vendor = choice });
            partition.MapMemory(new MemorySlot(0, 0, memory, 0, memory.Size));
            using var vp = (EmulatedVirtualProcessor)partition.CreateProcessor(0);
            Assert.Equal(expected, vp.Vendor);
        }
    }

    [Fact]
    public void Processors_sharing_memory_present_one_vendor()
    {
        using var m = new TestMachine(vendor: ProcessorVendor.Intel);
        var e = Assert.Throws<ArgumentException>(() => new X86Cpu(m.Memory, vendor: ProcessorVendor.Amd));
        Assert.Contains("AuthenticAMD", e.Message);
    }
}
