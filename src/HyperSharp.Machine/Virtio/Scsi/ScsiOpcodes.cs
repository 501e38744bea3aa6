namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>SCSI operation codes the disk answers (SPC-4, SBC-3) and the status bytes it returns.</summary>
internal static class ScsiOp
{
    public const byte TestUnitReady = 0x00, RequestSense = 0x03, Read6 = 0x08, Write6 = 0x0A, Inquiry = 0x12, ModeSelect6 = 0x15,
        ModeSense6 = 0x1A, StartStopUnit = 0x1B, PreventAllowMediumRemoval = 0x1E, ReadCapacity10 = 0x25, Read10 = 0x28, Write10 = 0x2A,
        Verify10 = 0x2F, SynchronizeCache10 = 0x35, WriteSame10 = 0x41, Unmap = 0x42, ModeSelect10 = 0x55, ModeSense10 = 0x5A,
        Read16 = 0x88, Write16 = 0x8A, Verify16 = 0x8F, SynchronizeCache16 = 0x91, WriteSame16 = 0x93, ServiceActionIn16 = 0x9E,
        ReportLuns = 0xA0, MaintenanceIn = 0xA3, Read12 = 0xA8, Write12 = 0xAA, Verify12 = 0xAF;

    /// <summary>Service actions: READ CAPACITY (16) under SERVICE ACTION IN (16); REPORT SUPPORTED OPERATION CODES under MAINTENANCE IN.</summary>
    public const byte ReadCapacity16 = 0x10, ReportSupportedOpcodes = 0x0C;

    public const byte StatusGood = 0x00, StatusCheckCondition = 0x02;

    /// <summary>The CDB length the operation code's group implies (SPC-4 4.2.5.1), 0 for groups with no fixed length.</summary>
    public static int CdbLength(byte opcode) => (opcode >> 5) switch
    {
        0 => 6,
        1 or 2 => 10,
        4 => 16,
        5 => 12,
        _ => 0,
    };
}

/// <summary>
/// A sense key with its additional sense code and qualifier (SPC-4 4.5.6): what a CHECK CONDITION tells the initiator.
/// </summary>
internal readonly record struct SenseCode(byte Key, byte Asc, byte Ascq)
{
    public const byte KeyNoSense = 0x0, KeyNotReady = 0x2, KeyMediumError = 0x3, KeyHardwareError = 0x4, KeyIllegalRequest = 0x5,
        KeyUnitAttention = 0x6, KeyDataProtect = 0x7, KeyAbortedCommand = 0xB;

    public static readonly SenseCode None = new(KeyNoSense, 0, 0);
    public static readonly SenseCode InvalidOpcode = new(KeyIllegalRequest, 0x20, 0x00);
    public static readonly SenseCode LbaOutOfRange = new(KeyIllegalRequest, 0x21, 0x00);
    public static readonly SenseCode InvalidFieldInCdb = new(KeyIllegalRequest, 0x24, 0x00);
    public static readonly SenseCode LunNotSupported = new(KeyIllegalRequest, 0x25, 0x00);
    public static readonly SenseCode ParameterListLengthError = new(KeyIllegalRequest, 0x1A, 0x00);
    public static readonly SenseCode InvalidFieldInParameterList = new(KeyIllegalRequest, 0x26, 0x00);
    public static readonly SenseCode WriteProtected = new(KeyDataProtect, 0x27, 0x00);
    public static readonly SenseCode CapacityDataChanged = new(KeyUnitAttention, 0x2A, 0x09);
    public static readonly SenseCode UnrecoveredReadError = new(KeyMediumError, 0x11, 0x00);
    public static readonly SenseCode WriteError = new(KeyMediumError, 0x0C, 0x00);
    public static readonly SenseCode InternalTargetFailure = new(KeyHardwareError, 0x44, 0x00);

    /// <summary>Fixed-format sense data (response code 70h, current error), 18 bytes; returns how many were written.</summary>
    public int WriteFixed(Span<byte> destination)
    {
        Span<byte> s = stackalloc byte[18];
        s.Clear();
        s[0] = 0x70;
        s[2] = Key;
        s[7] = 10; // additional sense length: bytes 8-17
        s[12] = Asc;
        s[13] = Ascq;
        int n = Math.Min(s.Length, destination.Length);
        s[..n].CopyTo(destination);
        return n;
    }
}
