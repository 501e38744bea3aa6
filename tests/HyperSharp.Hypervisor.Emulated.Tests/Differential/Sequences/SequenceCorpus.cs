using System.IO.Compression;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.Sequences;

/// <summary>
/// Recorded hardware results: the processor they were recorded on (its vendor, which decides every undefined result,
/// and a description), then for each case the sequence bytes, the inputs and what the processor left (registers, RFLAGS,
/// exception, x87/SSE image, data page). Outputs are stored XORed with the inputs, so what did not change compresses
/// away; the file is Brotli-compressed. One file per vendor: <see cref="FileName"/>.
/// </summary>
/// <remarks>Version 1 files carried no vendor; the one that existed (recorded on an AMD EPYC) was rewritten as version 2.
/// A version 1 file cannot say whose results it holds, so it is refused.</remarks>
internal static class SequenceCorpus
{
    private const uint Magic = 0x43445348; // "HSDC"
    private const int Version = 2;

    /// <summary>The processor a corpus was recorded on.</summary>
    public sealed record Recording(ProcessorVendor Vendor, string Processor);

    /// <summary>The corpus file of a vendor: sequences.GenuineIntel.bin.br, sequences.AuthenticAMD.bin.br.</summary>
    public static string FileName(ProcessorVendor vendor) => $"sequences.{vendor.VendorString()}.bin.br";

    public static void Write(string path, Recording recording, IReadOnlyList<SequenceCase> cases, IReadOnlyList<SequenceResult> results)
    {
        using var file = File.Create(path);
        using var brotli = new BrotliStream(file, CompressionLevel.SmallestSize);
        using var w = new BinaryWriter(brotli);
        w.Write(Magic); w.Write(Version);
        w.Write(recording.Vendor.VendorString()); w.Write(recording.Processor);
        w.Write(cases.Count);
        for (int i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var r = results[i];
            var code = c.Code;
            w.Write((ushort)code.Length); w.Write(code);
            foreach (ulong v in c.Regs) w.Write(v);
            w.Write(c.Flags); w.Write(c.Fx); w.Write(c.Data);
            for (int g = 0; g < 16; g++) w.Write(r.Regs[g] ^ c.Regs[g]);
            w.Write(r.Flags); w.Write(r.Vector); w.Write(r.ErrorCode); w.Write(r.FaultOffset); w.Write(r.Cr2);
            w.Write(Xor(r.Fx, c.Fx)); w.Write(Xor(r.Data, c.Data));
        }
    }

    public static (Recording recording, List<SequenceCase> cases, List<SequenceResult> results) Read(string path)
    {
        using var file = File.OpenRead(path);
        using var brotli = new BrotliStream(file, CompressionMode.Decompress);
        using var rd = new BinaryReader(brotli);
        if (rd.ReadUInt32() != Magic) throw new InvalidDataException($"{path} is not a sequence corpus");
        int version = rd.ReadInt32();
        if (version != Version)
            throw new InvalidDataException($"{path} is a version {version} sequence corpus; this build reads version {Version}, which names the processor it was recorded on");
        string vendorString = rd.ReadString();
        var vendor = ProcessorVendors.FromVendorString(vendorString)
            ?? throw new InvalidDataException($"{path} was recorded on a '{vendorString}' processor; the emulator models GenuineIntel and AuthenticAMD");
        var recording = new Recording(vendor, rd.ReadString());
        int n = rd.ReadInt32();
        var cases = new List<SequenceCase>(n);
        var results = new List<SequenceResult>(n);
        for (int i = 0; i < n; i++)
        {
            var c = new SequenceCase { Parts = { rd.ReadBytes(rd.ReadUInt16()) } };
            for (int g = 0; g < 16; g++) c.Regs[g] = rd.ReadUInt64();
            c.Flags = rd.ReadUInt64();
            rd.ReadBytes(SequenceCase.FxSize).CopyTo(c.Fx, 0);
            rd.ReadBytes(SequenceCase.DataSize).CopyTo(c.Data, 0);
            var r = new SequenceResult();
            for (int g = 0; g < 16; g++) r.Regs[g] = rd.ReadUInt64() ^ c.Regs[g];
            r.Flags = rd.ReadUInt64(); r.Vector = rd.ReadInt32(); r.ErrorCode = rd.ReadUInt64(); r.FaultOffset = rd.ReadUInt64(); r.Cr2 = rd.ReadUInt64();
            Xor(rd.ReadBytes(SequenceCase.FxSize), c.Fx).CopyTo(r.Fx, 0);
            Xor(rd.ReadBytes(SequenceCase.DataSize), c.Data).CopyTo(r.Data, 0);
            cases.Add(c);
            results.Add(r);
        }
        return (recording, cases, results);
    }

    private static byte[] Xor(byte[] a, byte[] b)
    {
        var x = new byte[a.Length];
        for (int i = 0; i < a.Length; i++) x[i] = (byte)(a[i] ^ b[i]);
        return x;
    }
}
