using System.Buffers.Binary;

namespace HyperSharp.Machine.Boot;

/// <summary>
/// The 4 KiB "zero page" (struct boot_params) handed to the kernel in RSI: the bzImage's setup
/// header, plus what the boot loader fills in — command line, initrd, e820 map, ACPI RSDP.
/// Offsets are from Documentation/arch/x86/zero-page.rst and boot.rst.
/// </summary>
internal sealed class BootParams
{
    public const int Size = 4096;
    private const int MaxE820 = 128;
    private readonly byte[] _page = new byte[Size];
    private int _e820Count;

    public BootParams(byte[]? setupHeader)
    {
        var span = _page.AsSpan();
        if (setupHeader is not null) setupHeader.CopyTo(span[0x1F1..]);
        else
        {
            // An ELF vmlinux brings no setup header: write the fields the kernel checks.
            BinaryPrimitives.WriteUInt16LittleEndian(span[0x1FE..], 0xAA55);
            BinaryPrimitives.WriteUInt32LittleEndian(span[0x202..], 0x53726448);
            BinaryPrimitives.WriteUInt16LittleEndian(span[0x206..], 0x020F);
            BinaryPrimitives.WriteUInt32LittleEndian(span[0x230..], 0x01000000); // kernel_alignment
        }
        span[0x210] = 0xFF;        // type_of_loader: undefined loader
        span[0x211] |= 0x01;       // loadflags: LOADED_HIGH (kernel at 1 MiB or above)
    }

    public void SetCommandLine(ulong address, int length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x228), (uint)address);
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x0C8), (uint)(address >> 32));
        if (BinaryPrimitives.ReadUInt16LittleEndian(_page.AsSpan(0x206)) >= 0x0206)
            BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x238), (uint)Math.Max(CommandLineMax, length));
    }

    /// <summary>The longest command line the kernel accepts (cmdline_size, protocol 2.06+), 255 for older ones.</summary>
    public int CommandLineMax
    {
        get
        {
            uint max = BinaryPrimitives.ReadUInt16LittleEndian(_page.AsSpan(0x206)) >= 0x0206 ? BinaryPrimitives.ReadUInt32LittleEndian(_page.AsSpan(0x238)) : 255;
            return (int)Math.Min(max == 0 ? 2048 : max, 1 << 20);
        }
    }

    /// <summary>Highest address the initrd may end at (initrd_addr_max).</summary>
    public ulong InitrdAddressMax
    {
        get
        {
            uint max = BinaryPrimitives.ReadUInt32LittleEndian(_page.AsSpan(0x22C));
            return max == 0 ? 0x37FFFFFF : max;
        }
    }

    public void SetRamdisk(ulong address, ulong size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x218), (uint)address);
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x21C), (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x0C0), (uint)(address >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x0C4), (uint)(size >> 32));
    }

    public void SetAcpiRsdp(ulong address) => BinaryPrimitives.WriteUInt64LittleEndian(_page.AsSpan(0x070), address);

    public void AddE820(E820Entry entry)
    {
        if (_e820Count == MaxE820) throw new KernelImageException($"the memory map has more than {MaxE820} ranges");
        var e = _page.AsSpan(0x2D0 + _e820Count * 20, 20);
        BinaryPrimitives.WriteUInt64LittleEndian(e, entry.Address);
        BinaryPrimitives.WriteUInt64LittleEndian(e[8..], entry.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)entry.Type);
        _page[0x1E8] = (byte)++_e820Count;
    }

    public byte[] ToArray() => (byte[])_page.Clone();
}
