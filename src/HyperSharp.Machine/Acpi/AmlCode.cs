using static HyperSharp.Machine.Acpi.Aml;

namespace HyperSharp.Machine.Acpi;

/// <summary>
/// The executable part of the AML encoder: methods and their statements (If, Store, Notify, Return),
/// the arithmetic and logic operators our methods use, locals and arguments, operation regions and
/// fields. Encodings from the ACPI specification's "AML Grammar Definition" (opcodes in its tables);
/// names, packages and the PkgLength come from <see cref="Aml"/>, the encoder of the namespace's data.
/// </summary>
public static class AmlCode
{
    private const byte OnesOp = 0xFF, LocalOp = 0x60, ArgOp = 0x68, StoreOp = 0x70, AddOp = 0x72, ShiftLeftOp = 0x79, AndOp = 0x7B,
        NotifyOp = 0x86, IndexOp = 0x88, LAndOp = 0x90, LEqualOp = 0x93, ToStringOp = 0x9C, IfOp = 0xA0, OpRegionOp = 0x80, FieldOp = 0x81,
        NullName = 0x00;

    /// <summary>Ones: all bits set (ToString's "up to the first null" length).</summary>
    public static byte[] Ones => [OnesOp];

    /// <summary>Local0-Local7.</summary>
    public static byte[] Local(int n) => n is >= 0 and <= 7 ? [(byte)(LocalOp + n)] : throw new ArgumentOutOfRangeException(nameof(n));

    /// <summary>Arg0-Arg6.</summary>
    public static byte[] Arg(int n) => n is >= 0 and <= 6 ? [(byte)(ArgOp + n)] : throw new ArgumentOutOfRangeException(nameof(n));

    /// <summary>A control method: flags carry the argument count and whether calls are serialized.</summary>
    public static byte[] Method(string name, int argCount, bool serialized, params byte[][] body) =>
        WithPkgLength([MethodOp], [.. NameString(name), (byte)((argCount & 7) | (serialized ? 0x08 : 0)), .. Concat(body)]);

    /// <summary>A call of a method by name; the arguments follow (the callee's definition fixes their count).</summary>
    public static byte[] Call(string name, params byte[][] args) => [.. NameString(name), .. Concat(args)];

    public static byte[] If(byte[] predicate, params byte[][] body) => WithPkgLength([IfOp], [.. predicate, .. Concat(body)]);

    public static byte[] Return(byte[] value) => [ReturnOp, .. value];

    /// <summary>Store(value, target): target is a name, local, argument or Index reference.</summary>
    public static byte[] Store(byte[] value, byte[] target) => [StoreOp, .. value, .. target];

    public static byte[] Notify(string target, byte[] value) => [NotifyOp, .. NameString(target), .. value];

    public static byte[] LEqual(byte[] a, byte[] b) => [LEqualOp, .. a, .. b];

    public static byte[] LAnd(byte[] a, byte[] b) => [LAndOp, .. a, .. b];

    /// <summary>Bitwise And with no target (the result is the operator's value).</summary>
    public static byte[] And(byte[] a, byte[] b) => [AndOp, .. a, .. b, NullName];

    public static byte[] Add(byte[] a, byte[] b) => [AddOp, .. a, .. b, NullName];

    public static byte[] ShiftLeft(byte[] value, byte[] count) => [ShiftLeftOp, .. value, .. count, NullName];

    /// <summary>Index(object, index): a reference to a package element or buffer byte (also a Store target).</summary>
    public static byte[] Index(byte[] source, byte[] index) => [IndexOp, .. source, .. index, NullName];

    /// <summary>ToString(buffer, length): the buffer's bytes up to the first null (or length) as a String.</summary>
    public static byte[] ToAmlString(byte[] buffer, byte[] length) => [ToStringOp, .. buffer, .. length, NullName];

    /// <summary>The 16-byte buffer ASL's ToUUID() makes: the GUID in its mixed-endian byte order (as .NET's Guid stores it).</summary>
    public static byte[] Uuid(string uuid) => Buffer(Guid.Parse(uuid).ToByteArray());

    /// <summary>Address spaces of an operation region.</summary>
    public enum RegionSpace : byte { SystemMemory = 0, SystemIo = 1 }

    /// <summary>Field access widths (AccessType of FieldFlags).</summary>
    public enum FieldAccess : byte { Any = 0, Byte = 1, Word = 2, DWord = 3, QWord = 4 }

    public static byte[] OperationRegion(string name, RegionSpace space, byte[] offset, byte[] length) =>
        [ExtOpPrefix, OpRegionOp, .. NameString(name), (byte)space, .. offset, .. length];

    /// <summary>Field(region, access, NoLock, Preserve) { name, bits, ... }: consecutive named fields from bit 0 of the region.</summary>
    public static byte[] Field(string region, FieldAccess access, params (string Name, int Bits)[] fields)
    {
        var list = new List<byte>();
        foreach (var (name, bits) in fields)
        {
            var segment = NameString(name);
            if (segment.Length != 4) throw new ArgumentException($"field name '{name}' must be a single name segment");
            list.AddRange(segment);
            list.AddRange(EncodeLength(bits));
        }
        return WithPkgLength([ExtOpPrefix, FieldOp], [.. NameString(region), (byte)access, .. list]);
    }

    /// <summary>A PkgLength-encoded number that does not count its own bytes (the bit width of a field).</summary>
    private static byte[] EncodeLength(int value)
    {
        if (value < 0x40) return [(byte)value];
        if (value < 0x1000) return [(byte)(0x40 | (value & 0xF)), (byte)(value >> 4)];
        if (value < 0x100000) return [(byte)(0x80 | (value & 0xF)), (byte)(value >> 4), (byte)(value >> 12)];
        throw new ArgumentOutOfRangeException(nameof(value), "field too wide");
    }

    private static byte[] Concat(byte[][] parts) => [.. parts.SelectMany(p => p)];
}
