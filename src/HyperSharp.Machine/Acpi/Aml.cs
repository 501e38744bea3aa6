using System.Text;

namespace HyperSharp.Machine.Acpi;

/// <summary>
/// A small AML (ACPI Machine Language) encoder: names, scopes, devices, methods, packages,
/// buffers and integers, as the ACPI specification's "ACPI Source Language / AML encoding"
/// chapter defines them. Enough for our DSDT; iasl disassembles the result in the tests.
/// </summary>
public static class Aml
{
    // Internal: AmlCode encodes methods and regions with the same opcodes.
    internal const byte ZeroOp = 0x00, OneOp = 0x01, NameOp = 0x08, BytePrefix = 0x0A, WordPrefix = 0x0B, DWordPrefix = 0x0C,
        StringPrefix = 0x0D, QWordPrefix = 0x0E, ScopeOp = 0x10, BufferOp = 0x11, PackageOp = 0x12, MethodOp = 0x14,
        ReturnOp = 0xA4, ExtOpPrefix = 0x5B, DeviceOp = 0x82, DualNamePrefix = 0x2E, MultiNamePrefix = 0x2F, RootChar = 0x5C;

    /// <summary>An integer in the smallest encoding that holds it.</summary>
    public static byte[] Integer(ulong value) => value switch
    {
        0 => [ZeroOp],
        1 => [OneOp],
        <= 0xFF => [BytePrefix, (byte)value],
        <= 0xFFFF => [WordPrefix, (byte)value, (byte)(value >> 8)],
        <= 0xFFFFFFFF => [DWordPrefix, .. BitConverter.GetBytes((uint)value)],
        _ => [QWordPrefix, .. BitConverter.GetBytes(value)],
    };

    public static byte[] String(string value) => [StringPrefix, .. Encoding.ASCII.GetBytes(value), 0];

    /// <summary>A name path such as "\\_SB_.PCI0" or "_HID"; each segment is padded to four characters with '_'.</summary>
    public static byte[] NameString(string path)
    {
        var bytes = new List<byte>();
        if (path.StartsWith('\\')) { bytes.Add(RootChar); path = path[1..]; }
        var segments = path.Length == 0 ? [] : path.Split('.');
        foreach (var s in segments)
            if (s.Length is 0 or > 4 || !s.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_') || char.IsAsciiDigit(s[0]))
                throw new ArgumentException($"'{s}' is not an AML name segment (1-4 of A-Z, 0-9, _; not starting with a digit)");
        if (segments.Length == 2) bytes.Add(DualNamePrefix);
        else if (segments.Length > 2) { bytes.Add(MultiNamePrefix); bytes.Add((byte)segments.Length); }
        else if (segments.Length == 0) bytes.Add(0); // NullName
        foreach (var s in segments) bytes.AddRange(Encoding.ASCII.GetBytes(s.PadRight(4, '_')));
        return [.. bytes];
    }

    /// <summary>EISA ID compressed into 32 bits ("PNP0A08" -> 0x080AD041), as EisaId() does in ASL.</summary>
    public static uint EisaId(string id)
    {
        if (id.Length != 7 || !id[..3].All(char.IsAsciiLetterUpper) || !id[3..].All(char.IsAsciiHexDigit))
            throw new ArgumentException($"'{id}' is not an EISA ID (three capitals and four hex digits)");
        int c1 = id[0] - 0x40, c2 = id[1] - 0x40, c3 = id[2] - 0x40;
        uint product = Convert.ToUInt32(id[3..], 16);
        byte b0 = (byte)((c1 << 2) | (c2 >> 3)), b1 = (byte)(((c2 & 7) << 5) | c3);
        return b0 | (uint)b1 << 8 | (product >> 8) << 16 | (product & 0xFF) << 24;
    }

    public static byte[] Name(string name, byte[] value) => [NameOp, .. NameString(name), .. value];

    public static byte[] Scope(string name, params byte[][] terms) => WithPkgLength([ScopeOp], [.. NameString(name), .. terms.SelectMany(t => t)]);

    public static byte[] Device(string name, params byte[][] terms) => WithPkgLength([ExtOpPrefix, DeviceOp], [.. NameString(name), .. terms.SelectMany(t => t)]);

    /// <summary>A method that returns a constant (enough for _STA and _PIC-style stubs).</summary>
    public static byte[] MethodReturning(string name, int argCount, byte[] value) =>
        WithPkgLength([MethodOp], [.. NameString(name), (byte)(argCount & 7), ReturnOp, .. value]);

    public static byte[] Package(params byte[][] elements)
    {
        if (elements.Length > 255) throw new ArgumentException("a Package holds at most 255 elements (VarPackage is not supported here)");
        return WithPkgLength([PackageOp], [(byte)elements.Length, .. elements.SelectMany(e => e)]);
    }

    public static byte[] Buffer(byte[] contents) => WithPkgLength([BufferOp], [.. Integer((ulong)contents.Length), .. contents]);

    /// <summary>Prefixes <paramref name="body"/> with its PkgLength (which counts its own bytes too).</summary>
    internal static byte[] WithPkgLength(byte[] op, byte[] body)
    {
        int length = body.Length;
        byte[] pkg;
        if (length + 1 < 0x40) pkg = [(byte)(length + 1)];
        else if (length + 2 < 0x1000) pkg = Encode(length + 2, 1);
        else if (length + 3 < 0x100000) pkg = Encode(length + 3, 2);
        else if (length + 4 < 0x10000000) pkg = Encode(length + 4, 3);
        else throw new ArgumentException("AML package too long");
        return [.. op, .. pkg, .. body];

        static byte[] Encode(int total, int extra)
        {
            var b = new byte[extra + 1];
            b[0] = (byte)((extra << 6) | (total & 0x0F));
            for (int i = 1; i <= extra; i++) b[i] = (byte)(total >> (4 + 8 * (i - 1)));
            return b;
        }
    }
}
