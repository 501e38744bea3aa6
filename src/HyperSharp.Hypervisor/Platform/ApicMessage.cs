namespace HyperSharp.Hypervisor.Platform;

/// <summary>How an interrupt message is delivered (the ICR/MSI/redirection-entry delivery-mode field).</summary>
public enum DeliveryMode : byte { Fixed = 0, LowestPriority = 1, Smi = 2, Nmi = 4, Init = 5, StartUp = 6, ExtInt = 7 }

/// <summary>
/// One interrupt message on the APIC bus, whoever sent it (I/O APIC, MSI, IPI): destination (physical
/// APIC ID or logical mask), vector, delivery mode and trigger mode.
/// </summary>
public readonly record struct ApicMessage(uint Destination, bool LogicalDestination, byte Vector, DeliveryMode Mode, bool LevelTriggered)
{
    public const uint Broadcast = 0xFF;

    /// <summary>Decodes an MSI write: address 0xFEE[dest]xxx, data with vector, delivery mode and trigger (Intel SDM 10.11).</summary>
    public static ApicMessage FromMsi(ulong address, uint data) => new(
        Destination: (uint)(address >> 12) & 0xFF,
        LogicalDestination: (address & 0x4) != 0,
        Vector: (byte)data,
        Mode: (DeliveryMode)((data >> 8) & 7),
        LevelTriggered: (data & 0x8000) != 0);
}
