using System.Buffers.Binary;

namespace HyperSharp.Machine.Boot;

/// <summary>
/// Wraps machine code into a minimal ELF64 executable (one PT_LOAD at its physical address, entry at
/// its start) that the Linux loader accepts like a vmlinux: how freestanding guest programs — tests,
/// probes, benchmarks — are booted on the same path as a kernel.
/// </summary>
public static class ElfBuilder
{
    public static byte[] Wrap(byte[] code, ulong address)
    {
        const int headerSize = 64, phSize = 56;
        var elf = new byte[headerSize + phSize + code.Length];
        var s = elf.AsSpan();
        s[0] = 0x7F; s[1] = (byte)'E'; s[2] = (byte)'L'; s[3] = (byte)'F';
        s[4] = 2; s[5] = 1; s[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2);  // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], 62); // x86-64
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], address);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], headerSize);
        BinaryPrimitives.WriteUInt16LittleEndian(s[52..], headerSize);
        BinaryPrimitives.WriteUInt16LittleEndian(s[54..], phSize);
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], 1);
        var ph = s[headerSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1); // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 7);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], headerSize + phSize);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], address);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], address);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)code.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], (ulong)code.Length + 0x1000);
        code.CopyTo(s[(headerSize + phSize)..]);
        return elf;
    }
}
