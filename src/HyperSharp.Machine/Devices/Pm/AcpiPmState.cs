namespace HyperSharp.Machine.Devices.Pm;

/// <summary>Saved state of the ACPI PM registers, version 1.</summary>
public sealed record AcpiPmState(ushort Status, ushort Enable, ushort Control)
{
    public const int Version = 1;
}
