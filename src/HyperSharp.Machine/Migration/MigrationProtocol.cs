using System.Buffers.Binary;

namespace HyperSharp.Machine.Migration;

/// <summary>
/// The live-migration stream, protocol 2. Each side first sends a preamble, then frames.
/// <code>
/// preamble  "HSVMMIGR", u32 protocol version, u16 length L, L bytes UTF-8: the HyperSharp build (fixed in every version,
///           so a peer of another version can always say who it is talking to)
/// frame     u16 kind, u16 0, u32 payload length P, u32 CRC-32C of those 8 bytes + payload, payload
/// source    Hello (u64 guest memory size, the backend's name, u16 machine record version and the configuration as that version of the saved machine record encodes it), then Pages (u64 memory offset, 1 to 256 pages of 4 KiB) and RoundEnd (u32 round,
///           u64 pages in it) for each pre-copy round, then — with the VM paused — the last Pages, State (a saved-state file
///           without memory: the machine, platform, processor and device records) and Done; after the destination's Ready, Commit
/// target    Accept or Refuse (UTF-8 reason) after the Hello; Ready once the VM is built from what arrived (not yet running);
///           Owned once Commit arrived: from Commit on the VM is the destination's, and only Owned lets the source discard its
///           paused copy (a source that never hears it keeps the VM paused, never running: the handover is in doubt)
/// either    Abort (UTF-8 reason) ends the migration: the source's VM runs on, the destination's is discarded
/// v2        the destination sends Prepared once it has built the VM from the hello (devices, memory; writable disks described,
///           not opened), and the source pauses only after it; in the pause the source flushes and closes its writable disks
///           before Done, and the destination opens them before Ready (<see cref="DiskHandover"/>). Protocol 1 had neither: its
///           destination opened the disks while building, so only read-only ones could move.
/// </code>
/// Little-endian throughout. A newer destination accepts every older protocol; an older one refuses a newer source by its version.
/// </summary>
internal static class MigrationProtocol
{
    public static ReadOnlySpan<byte> Magic => "HSVMMIGR"u8;
    public const uint ProtocolVersion = 2;
    public const int FrameHeaderSize = 12;
    public const int Page = 4096;
    public const int MaxRunPages = 256;
    public const int MaxPayload = 64 << 20;

    public enum Kind : ushort { Hello = 1, Accept = 2, Refuse = 3, Pages = 4, RoundEnd = 5, State = 6, Done = 7, Ready = 8, Commit = 9, Abort = 10, Owned = 11, Prepared = 12 }

    public static void WriteFrameHeader(Span<byte> header, Kind kind, int payloadLength)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)kind);
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)payloadLength);
    }
}
