namespace HyperSharp.Machine.Virtio.Mem;

/// <summary>virtio-mem's numbers (virtio 1.2 §5.15): configuration layout, requests, responses, block states.</summary>
internal static class VirtioMemConstants
{
    public const ushort DeviceType = 24;

    /// <summary>
    /// Plug granularity: 2 MiB, x86-64's page block, the smallest unit Linux can online and offline. Linux still adds
    /// memory to its map in 128 MiB sections and onlines the plugged 2 MiB blocks inside them.
    /// </summary>
    public const ulong BlockSize = 2UL << 20;

    /// <summary>Configuration (all little-endian): block_size, node_id (+6 padding), addr, region_size, usable_region_size, plugged_size, requested_size.</summary>
    public const int ConfigBlockSize = 0, ConfigNodeId = 8, ConfigAddress = 16, ConfigRegionSize = 24, ConfigUsableRegionSize = 32,
        ConfigPluggedSize = 40, ConfigRequestedSize = 48, ConfigSize = 56;

    /// <summary>A request: le16 type (+6 padding), le64 addr, le16 nb_blocks (+6 padding).</summary>
    public const int RequestSize = 24, RequestAddress = 8, RequestBlocks = 16;

    /// <summary>A response: le16 type (+6 padding), le16 state (for STATE requests).</summary>
    public const int ResponseSize = 10, ResponseState = 8;

    public const ushort RequestPlug = 0, RequestUnplug = 1, RequestUnplugAll = 2, RequestState = 3;
    public const ushort ResponseAck = 0, ResponseNack = 1, ResponseBusy = 2, ResponseError = 3;
    public const ushort StatePlugged = 0, StateUnplugged = 1, StateMixed = 2;
}
