using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service.Domain;

/// <summary>
/// Add-VMHardDiskDrive's drive, not yet checked (<see cref="VmConfigurationStore.AddDiskAsync"/> checks it): the disk,
/// and where it goes — an unspecified controller type is SCSI, a null location the first free one on the controller.
/// </summary>
public sealed record NewDiskDrive(string? Path, bool ReadOnly, ControllerType ControllerType, int ControllerNumber, int? ControllerLocation);

/// <summary>Where a drive sits (Remove-VMHardDiskDrive): an unspecified controller type is SCSI.</summary>
public sealed record DriveLocation(ControllerType ControllerType, int ControllerNumber, int ControllerLocation);

/// <summary>Set-VMHardDiskDrive's Storage QoS change: a null value stays as it is.</summary>
public sealed record DriveQosChange(long? MaximumIops, long? MinimumIops);
