namespace HyperSharp.PowerShell;

/// <summary>Get-VMScsiController's object: one SCSI controller of a virtual machine and the drives on it.</summary>
public sealed class VMScsiController
{
    public required string ComputerName { get; init; }
    public required string VMName { get; init; }
    public required Guid VMId { get; init; }
    public required int ControllerNumber { get; init; }
    public required HardDiskDrive[] Drives { get; init; }
    public string Name => "SCSI Controller";

    /// <summary>The controller as the host returned it.</summary>
    internal static VMScsiController From(HyperSharp.Api.V1.ScsiController c, string computerName) => new()
    {
        ComputerName = computerName,
        VMName = c.VmName,
        VMId = Guid.TryParse(c.VmId, out var id) ? id : Guid.Empty,
        ControllerNumber = c.ControllerNumber,
        Drives = [.. c.Drives.Select(d => d.ToObject(computerName))],
    };

    public override string ToString() => $"VMScsiController (Name = '{Name}', ControllerNumber = {ControllerNumber}) [VMName = '{VMName}']";
}
