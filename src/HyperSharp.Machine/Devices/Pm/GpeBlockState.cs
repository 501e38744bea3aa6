namespace HyperSharp.Machine.Devices.Pm;

/// <summary>Saved state of the GPE0 block, version 1: latched status and enable bits.</summary>
public sealed record GpeBlockState(ushort Status, ushort Enable)
{
    public const int Version = 1;
}
