namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>virtio-scsi wire values (virtio 1.x, "SCSI Host Device"): features, queues, header sizes, responses, events.</summary>
internal static class VirtioScsi
{
    public const ushort DeviceType = 8;

    public const int FeatureInOut = 0, FeatureHotplug = 1, FeatureChange = 2;

    /// <summary>Queue 0 is the control queue, 1 the event queue, requests from 2 on.</summary>
    public const int ControlQueue = 0, EventQueue = 1, FirstRequestQueue = 2;

    /// <summary>The sizes the spec starts with; the driver may write others into the configuration.</summary>
    public const int DefaultCdbSize = 32, DefaultSenseSize = 96;

    /// <summary>Largest CDB and sense areas a driver may ask for (the configuration fields are 32-bit; we keep them sane).</summary>
    public const int MaxCdbSize = 255, MaxSenseSize = 252;

    /// <summary>lun[8], id (8), task_attr, prio, crn: the request header before the CDB.</summary>
    public const int RequestHeaderSize = 19;

    /// <summary>sense_len, resid, status_qualifier, status, response: the response header before the sense bytes.</summary>
    public const int ResponseHeaderSize = 12;

    public const byte ResponseOk = 0, ResponseOverrun = 1, ResponseBadTarget = 3, ResponseFailure = 9,
        ResponseFunctionSucceeded = 10, ResponseFunctionRejected = 11, ResponseIncorrectLun = 12;

    public const uint ControlTmf = 0, ControlAsyncQuery = 1, ControlAsyncSubscribe = 2;
    public const uint TmfAbortTask = 0, TmfAbortTaskSet = 1, TmfClearAca = 2, TmfClearTaskSet = 3, TmfItNexusReset = 4,
        TmfLogicalUnitReset = 5, TmfQueryTask = 6, TmfQueryTaskSet = 7;

    public const uint EventNone = 0, EventTransportReset = 1, EventParamChange = 3, EventsMissed = 0x8000_0000;
    public const uint ResetRescan = 1, ResetRemoved = 2;

    /// <summary>event (4), lun[8], reason (4).</summary>
    public const int EventSize = 16;

    /// <summary>LUNs per controller: Hyper-V's 64 locations of a SCSI controller.</summary>
    public const int LunCount = 64;

    /// <summary>Largest data transfer of one request (keeps a hostile request from pinning host memory or time).</summary>
    public const uint MaxTransferBytes = 32 << 20;

    /// <summary>The configuration structure (struct virtio_scsi_config) and its writable fields.</summary>
    public const int ConfigSize = 36, ConfigSenseSize = 20, ConfigCdbSize = 24;
}
