using System.Buffers.Binary;
using System.Reflection;

namespace HyperSharp.Machine.State;

/// <summary>
/// The layout of a saved-state file, format 2: one encoding from the first byte to the last.
/// <code>
/// header   "HSVMSAVE", u32 format version (2), u32 body length B, body (writer: the HyperSharp version), u32 CRC-32C of all before it
/// record   u16 kind, u16 version, u16 key length K, u16 0, u32 payload length P, u32 CRC-32C of those 12 bytes + key + payload,
///          key (K bytes UTF-8: a processor's index, a device's id), payload (P bytes)
/// order    machine (backend, configuration), platform, processors, devices, then memory chunks, then end
/// memory   payload: u64 guest address, then 1 to 256 pages of 4 KiB; pages the guest never touched or that hold only zeros are not stored
/// end      payload: u32 records before it, u64 memory pages stored
/// </code>
/// Little-endian throughout. A format 1 file (the same magic, then a JSON header and unchecked memory runs) is read by
/// <see cref="LegacyStateFile"/>; builds that read only format 1 refuse this one by its version.
/// </summary>
internal static class StateFileFormat
{
    public static ReadOnlySpan<byte> Magic => "HSVMSAVE"u8;
    public const uint LegacyFormat = 1;
    public const uint CurrentFormat = 2;
    public const int MaxHeaderBody = 4096;
    public const int RecordHeaderSize = 16;
    public const int MaxKeyLength = 1024;
    public const int MaxRecordPayload = 64 << 20;
    public const int Page = 4096;
    public const int MaxChunkPages = 256;
    public const int MaxChunkPayload = 8 + MaxChunkPages * Page;

    public enum Kind : ushort { Machine = 1, Platform = 2, Processor = 3, Device = 4, Memory = 5, End = 6 }

    /// <summary>This build as the header names it: "1.0.0+f6fb358d559a" (the commit shortened).</summary>
    public static string ThisBuild { get; } = Describe(typeof(StateFileFormat).Assembly);

    private static string Describe(Assembly assembly)
    {
        string version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString() ?? "unknown";
        int plus = version.IndexOf('+');
        return plus >= 0 && version.Length > plus + 13 ? version[..(plus + 13)] : version;
    }

    /// <summary>A record header: what <see cref="Write"/> lays out and <see cref="Parse"/> reads back.</summary>
    public readonly record struct RecordHeader(Kind Kind, ushort Version, int KeyLength, int PayloadLength, uint Checksum)
    {
        public void Write(Span<byte> b)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)Kind);
            BinaryPrimitives.WriteUInt16LittleEndian(b[2..], Version);
            BinaryPrimitives.WriteUInt16LittleEndian(b[4..], (ushort)KeyLength);
            BinaryPrimitives.WriteUInt16LittleEndian(b[6..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(b[8..], (uint)PayloadLength);
            BinaryPrimitives.WriteUInt32LittleEndian(b[12..], Checksum);
        }

        public static RecordHeader Parse(ReadOnlySpan<byte> b) => new(
            (Kind)BinaryPrimitives.ReadUInt16LittleEndian(b), BinaryPrimitives.ReadUInt16LittleEndian(b[2..]),
            BinaryPrimitives.ReadUInt16LittleEndian(b[4..]), (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(b[8..]), int.MaxValue),
            BinaryPrimitives.ReadUInt32LittleEndian(b[12..]));
    }
}
