using HyperSharp.Api.V1;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>
/// The configuration and networking requests of the VmHost service as the host's domain values: where proto field presence
/// (HasX) becomes "given or not" (null) and the API's zero values become their defaults, one method per request.
/// The values are checked by <see cref="VmConfigurationStore"/>, which names the API's parameters in its errors.
/// </summary>
internal static class ConfigurationRequests
{
    public static NewVm ToNewVm(this CreateVmRequest request) => new(request.Name)
    {
        Generation = request.Generation == 0 ? null : request.Generation,
        MemoryStartupBytes = request.HasMemoryStartupBytes ? request.MemoryStartupBytes : null,
        ProcessorCount = request.HasProcessorCount ? request.ProcessorCount : null,
        Backend = request.Backend,
        Notes = request.Notes,
        KernelPath = request.Boot?.KernelPath,
        InitrdPath = request.Boot?.InitrdPath,
        KernelCommandLine = request.Boot?.KernelCommandLine,
        Firmware = string.IsNullOrEmpty(request.Boot?.Firmware) ? null : request.Boot.Firmware,
        Path = request.Path,
        VhdPath = request.VhdPath,
        NewVhdPath = request.NewVhdPath,
        NewVhdSizeBytes = request.NewVhdSizeBytes,
    };

    public static VmSettingsChange ToChange(this UpdateVmRequest request) => new()
    {
        NewName = request.HasNewName ? request.NewName : null,
        Notes = request.HasNotes ? request.Notes : null,
        ProcessorCount = request.HasProcessorCount ? request.ProcessorCount : null,
        MemoryStartupBytes = request.HasMemoryStartupBytes ? request.MemoryStartupBytes : null,
        AutomaticStartAction = request.HasAutomaticStartAction ? request.AutomaticStartAction : null,
        AutomaticStartDelaySeconds = request.HasAutomaticStartDelaySeconds ? request.AutomaticStartDelaySeconds : null,
        AutomaticStopAction = request.HasAutomaticStopAction ? request.AutomaticStopAction : null,
        CheckpointType = request.HasCheckpointType ? request.CheckpointType : null,
        KernelPath = request.HasKernelPath ? request.KernelPath : null,
        InitrdPath = request.HasInitrdPath ? request.InitrdPath : null,
        KernelCommandLine = request.HasKernelCommandLine ? request.KernelCommandLine : null,
        Backend = request.HasBackend ? request.Backend : null,
    };

    public static ProcessorChange ToChange(this SetProcessorRequest request) => new()
    {
        Count = request.HasCount ? request.Count : null,
        Maximum = request.HasMaximum ? request.Maximum : null,
        Reserve = request.HasReserve ? request.Reserve : null,
        RelativeWeight = request.HasRelativeWeight ? request.RelativeWeight : null,
        ExposeVirtualizationExtensions = request.HasExposeVirtualizationExtensions ? request.ExposeVirtualizationExtensions : null,
        EnableHostResourceProtection = request.HasEnableHostResourceProtection ? request.EnableHostResourceProtection : null,
    };

    public static VmMemoryChange ToChange(this SetMemoryRequest request) => new()
    {
        StartupBytes = request.HasStartupBytes ? request.StartupBytes : null,
        DynamicMemoryEnabled = request.HasDynamicMemoryEnabled ? request.DynamicMemoryEnabled : null,
        MinimumBytes = request.HasMinimumBytes ? request.MinimumBytes : null,
        MaximumBytes = request.HasMaximumBytes ? request.MaximumBytes : null,
        Buffer = request.HasBuffer ? request.Buffer : null,
        Priority = request.HasPriority ? request.Priority : null,
        RuntimeResizeEnabled = request.HasRuntimeResizeEnabled ? request.RuntimeResizeEnabled : null,
        WaitSeconds = request.WaitSeconds,
    };

    public static NewNetworkAdapter ToAdapter(this AddNetworkAdapterRequest request) =>
        new(NullIfEmpty(request.Name), NullIfEmpty(request.SwitchName), NullIfEmpty(request.StaticMacAddress),
            request.DeviceNaming == OnOffState.Unspecified ? null : request.DeviceNaming);

    public static AdapterRef ToRef(this NetworkAdapterRef reference) => new(reference.Id, reference.Name);

    public static NetworkAdapterChange ToChange(this UpdateNetworkAdapterRequest request) => new()
    {
        NewName = request.HasNewName ? request.NewName : null,
        SwitchName = request.HasSwitchName ? request.SwitchName : null,
        StaticMacAddress = request.HasStaticMacAddress ? request.StaticMacAddress : null,
        MacAddressSpoofing = request.HasMacAddressSpoofing ? request.MacAddressSpoofing : null,
        DhcpGuard = request.HasDhcpGuard ? request.DhcpGuard : null,
        RouterGuard = request.HasRouterGuard ? request.RouterGuard : null,
        MaximumBandwidth = request.HasMaximumBandwidth ? request.MaximumBandwidth : null,
        AccessVlanId = request.HasAccessVlanId ? request.AccessVlanId : null,
        DeviceNaming = request.HasDeviceNaming ? request.DeviceNaming : null,
    };

    public static NewSwitch ToSwitch(this CreateSwitchRequest request) =>
        new(request.Name, request.SwitchType, request.NetAdapterName, request.HostInterfaceName, request.Notes);

    public static SwitchChange ToChange(this UpdateSwitchRequest request) =>
        new(request.HasNewName ? request.NewName : null, request.HasNotes ? request.Notes : null);

    /// <summary>The VM a list request is limited to, when it names one.</summary>
    public static VmRef? Named(this VmRef? reference) => reference is { } r && (r.Id.Length > 0 || r.Name.Length > 0) ? r : null;

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    public static NewDiskDrive ToDrive(this AddHardDiskDriveRequest request) =>
        new(request.Path, request.ReadOnly, request.ControllerType, request.ControllerNumber, request.HasControllerLocation ? request.ControllerLocation : null);

    public static DriveLocation ToLocation(this RemoveHardDiskDriveRequest request) =>
        new(request.ControllerType, request.ControllerNumber, request.ControllerLocation);

    public static DriveLocation ToLocation(this SetHardDiskDriveRequest request) =>
        new(request.ControllerType, request.ControllerNumber, request.ControllerLocation);

    public static DriveQosChange ToQos(this SetHardDiskDriveRequest request) =>
        new(request.HasMaximumIops ? request.MaximumIops : null, request.HasMinimumIops ? request.MinimumIops : null);
}
