using System.Buffers.Binary;
using System.Text;

namespace HyperSharp.Machine.Boot;

/// <summary>Bytes to copy into guest physical memory before the first instruction runs.</summary>
public sealed record MemoryBlob(ulong Address, byte[] Data);

/// <summary>
/// The processor state at the 64-bit kernel entry (boot.rst "64-bit Boot Protocol"): long mode with
/// identity-mapped paging, flat __BOOT_CS (0x10) / __BOOT_DS (0x18) from our GDT, interrupts off,
/// RSI pointing at boot_params.
/// </summary>
public sealed record LongModeEntry(ulong Rip, ulong Rsi, ulong Rsp, ulong Cr0, ulong Cr3, ulong Cr4, ulong Efer,
    ulong GdtBase, ushort GdtLimit, ushort CodeSelector, ushort DataSelector);

/// <summary>Where everything goes for a direct Linux boot, and the entry state. Writing it into memory is the machine's job.</summary>
public sealed record LinuxBootPlan(IReadOnlyList<MemoryBlob> Blobs, LongModeEntry Entry, ulong InitrdAddress, ulong InitrdSize);

/// <summary>
/// Plans a direct boot of a 64-bit Linux kernel: kernel segments at their physical addresses,
/// the zero page, command line, initrd at the top of low RAM, a GDT and identity page tables
/// for the first 4 GiB (2 MiB pages). The guest never runs the bzImage decompressor.
/// </summary>
public static class LinuxBootPlanner
{
    // Fixed low-memory layout (below 1 MiB, clear of the EBDA at 0x9FC00).
    public const ulong GdtAddress = 0x500;
    public const ulong BootParamsAddress = 0x7000;
    public const ulong Pml4Address = 0x9000;          // then PDPT at 0xA000, four PDs at 0xB000..0xE000
    public const ulong StackTop = 0x8FF0;
    public const ulong CommandLineAddress = 0x20000;

    public static LinuxBootPlan Plan(KernelImage kernel, byte[]? initrd, string commandLine, IReadOnlyList<E820Entry> memoryMap, ulong? acpiRsdp = null)
    {
        var blobs = new List<MemoryBlob>();
        var ram = memoryMap.Where(e => e.Type == E820Type.Ram).ToList();
        foreach (var s in kernel.Segments)
        {
            if (!ram.Any(r => s.PhysicalAddress >= r.Address && s.PhysicalAddress + s.MemorySize <= r.End))
                throw new KernelImageException($"the kernel segment at 0x{s.PhysicalAddress:X} ({s.MemorySize} bytes) does not fit in guest RAM; give the VM more memory");
            blobs.Add(new MemoryBlob(s.PhysicalAddress, s.Data)); // bss beyond Data is fresh (zero) guest memory
        }
        var zeroPage = new BootParams(kernel.SetupHeader);
        var cmd = Encoding.ASCII.GetBytes(commandLine + "\0");
        if (cmd.Length - 1 > zeroPage.CommandLineMax)
            throw new KernelImageException($"the command line is {cmd.Length - 1} bytes; this kernel accepts at most {zeroPage.CommandLineMax}");
        blobs.Add(new MemoryBlob(CommandLineAddress, cmd));
        zeroPage.SetCommandLine(CommandLineAddress, cmd.Length - 1);
        ulong initrdAddress = 0, initrdSize = 0;
        if (initrd is { Length: > 0 })
        {
            ulong kernelEnd = kernel.Segments.Max(s => s.PhysicalAddress + s.MemorySize);
            var low = ram.Where(r => r.Address >= kernelEnd || r.End > kernelEnd).OrderByDescending(r => r.End)
                .FirstOrDefault(r => r.Address < zeroPage.InitrdAddressMax);
            ulong top = Math.Min(low.End, zeroPage.InitrdAddressMax + 1);
            initrdSize = (ulong)initrd.Length;
            initrdAddress = (top - initrdSize) & ~0xFFFUL;
            if (low.Size == 0 || initrdSize > top || initrdAddress < Math.Max(low.Address, kernelEnd))
                throw new KernelImageException($"the {initrd.Length}-byte initrd does not fit in guest RAM above the kernel; give the VM more memory");
            blobs.Add(new MemoryBlob(initrdAddress, initrd));
            zeroPage.SetRamdisk(initrdAddress, initrdSize);
        }
        foreach (var e in memoryMap) zeroPage.AddE820(e);
        if (acpiRsdp is ulong rsdp) zeroPage.SetAcpiRsdp(rsdp);
        blobs.Add(new MemoryBlob(BootParamsAddress, zeroPage.ToArray()));
        blobs.Add(new MemoryBlob(GdtAddress, Gdt()));
        blobs.Add(new MemoryBlob(Pml4Address, IdentityPageTables()));
        var entry = new LongModeEntry(
            Rip: kernel.EntryPoint, Rsi: BootParamsAddress, Rsp: StackTop,
            Cr0: 0x8000_0001 | 0x10 | 0x20, // PG | PE | ET | NE
            Cr3: Pml4Address, Cr4: 0x20,     // PAE
            Efer: 0x500,                     // LME | LMA
            GdtBase: GdtAddress, GdtLimit: 4 * 8 - 1, CodeSelector: 0x10, DataSelector: 0x18);
        return new LinuxBootPlan(blobs, entry, initrdAddress, initrdSize);
    }

    /// <summary>Null, null, __BOOT_CS (64-bit code), __BOOT_DS (flat data).</summary>
    private static byte[] Gdt()
    {
        var gdt = new byte[32];
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(16), 0x00AF9B000000FFFF);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(24), 0x00CF93000000FFFF);
        return gdt;
    }

    /// <summary>PML4 -> one PDPT -> four page directories of 2 MiB pages: the first 4 GiB mapped 1:1.</summary>
    private static byte[] IdentityPageTables()
    {
        const ulong present = 1, writable = 2, large = 0x80;
        var tables = new byte[6 * 4096];
        var span = tables.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span, (Pml4Address + 0x1000) | present | writable);
        for (int pd = 0; pd < 4; pd++)
        {
            ulong pdAddress = Pml4Address + 0x2000 + (ulong)pd * 0x1000;
            BinaryPrimitives.WriteUInt64LittleEndian(span[(0x1000 + pd * 8)..], pdAddress | present | writable);
            for (int i = 0; i < 512; i++)
            {
                ulong physical = ((ulong)pd << 30) | ((ulong)i << 21);
                BinaryPrimitives.WriteUInt64LittleEndian(span[(0x2000 + pd * 0x1000 + i * 8)..], physical | present | writable | large);
            }
        }
        return tables;
    }
}
