namespace HyperSharp.Machine.Virtio.Block;

/// <summary>virtio-blk request types, status codes and feature bits (virtio 1.x, "Block Device").</summary>
internal static class VirtioBlk
{
    public const uint In = 0, Out = 1, Flush = 4, GetId = 8, Discard = 11, WriteZeroes = 13;
    public const byte StatusOk = 0, StatusIoError = 1, StatusUnsupported = 2;

    public const int FeatureSizeMax = 1, FeatureSegMax = 2, FeatureReadOnly = 5, FeatureBlockSize = 6, FeatureFlush = 9,
        FeatureTopology = 10, FeatureMultiQueue = 12, FeatureDiscard = 13, FeatureWriteZeroes = 14;

    public const int SectorSize = 512;
    public const int HeaderSize = 16;
    public const int IdLength = 20;
    /// <summary>Size of struct virtio_blk_config up to the fields we offer (write_zeroes_may_unmap and padding).</summary>
    public const int ConfigSize = 64;
    /// <summary>Most discard/write-zeroes payload we take in one request (16-byte segments).</summary>
    public const int MaxUnmapPayload = 16 * 4096;

    /// <summary>Largest data transfer per request we accept (keeps a hostile request from pinning the host).</summary>
    public const uint MaxRequestBytes = 64 << 20;
}
