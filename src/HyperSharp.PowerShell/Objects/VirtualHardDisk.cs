namespace HyperSharp.PowerShell;

/// <summary>Get-VHD's object, with Hyper-V's property names and types.</summary>
public sealed class VirtualHardDisk
{
    public required string ComputerName { get; init; }
    public required string Path { get; init; }
    public required VhdFormat VhdFormat { get; init; }
    public required VhdType VhdType { get; init; }
    public required ulong FileSize { get; init; }
    public required ulong Size { get; init; }
    public required ulong? MinimumSize { get; init; }
    public required uint LogicalSectorSize { get; init; }
    public required uint PhysicalSectorSize { get; init; }
    public required uint BlockSize { get; init; }
    public required string? ParentPath { get; init; }
    public required string DiskIdentifier { get; init; }
    public required int? FragmentationPercentage { get; init; }
    public int Alignment => 1;
    public required bool Attached { get; init; }
    public int? DiskNumber => null;
    public bool IsPMEMCompatible => false;

    public override string ToString() => Path;
}
