using V1 = HyperSharp.Api.V1;

namespace HyperSharp.PowerShell;

/// <summary>The API's messages to the cmdlets' objects, and the cmdlets' enums back to the API's.</summary>
internal static class ApiConversions
{
    public static VirtualMachine ToObject(this V1.Vm vm, string computerName) => new()
    {
        ComputerName = computerName,
        Name = vm.Name,
        Id = ParseId(vm.Id),
        State = vm.State switch
        {
            V1.VmState.Off => VMState.Off,
            V1.VmState.Starting => VMState.Starting,
            V1.VmState.Running => VMState.Running,
            V1.VmState.Stopping => VMState.Stopping,
            V1.VmState.Saving => VMState.Saving,
            V1.VmState.Saved => VMState.Saved,
            V1.VmState.Pausing => VMState.Pausing,
            V1.VmState.Paused => VMState.Paused,
            V1.VmState.Resuming => VMState.Resuming,
            V1.VmState.Resetting => VMState.Reset,
            _ => VMState.Other,
        },
        CPUUsage = (int)Math.Round(vm.CpuUsagePercent),
        MemoryAssigned = vm.MemoryAssignedBytes,
        MemoryDemand = vm.MemoryDemandBytes,
        MemoryStatus = vm.MemoryStatus,
        MemoryStartup = vm.MemoryStartupBytes,
        Uptime = TimeSpan.FromMilliseconds(vm.UptimeMs),
        Status = vm.Status,
        Version = vm.Version,
        Generation = vm.Generation,
        ProcessorCount = vm.ProcessorCount,
        Path = vm.Path,
        Notes = vm.Notes,
        CreationTime = DateTimeOffset.FromUnixTimeMilliseconds(vm.CreationTimeUnixMs).LocalDateTime,
        HardDrives = vm.HardDrives.Select(d => d.ToObject(computerName)).ToArray(),
        NetworkAdapters = vm.NetworkAdapters.Select(a => a.ToObject(computerName)).ToArray(),
        AutomaticStartAction = vm.AutomaticStartAction switch
        {
            V1.AutomaticStartAction.Start => StartAction.Start,
            V1.AutomaticStartAction.StartIfRunning => StartAction.StartIfRunning,
            _ => StartAction.Nothing,
        },
        AutomaticStartDelay = vm.AutomaticStartDelaySeconds,
        AutomaticStopAction = vm.AutomaticStopAction switch
        {
            V1.AutomaticStopAction.TurnOff => StopAction.TurnOff,
            V1.AutomaticStopAction.ShutDown => StopAction.ShutDown,
            _ => StopAction.Save,
        },
        CheckpointType = vm.CheckpointType switch
        {
            V1.CheckpointType.Disabled => CheckpointType.Disabled,
            V1.CheckpointType.ProductionOnly => CheckpointType.ProductionOnly,
            V1.CheckpointType.Standard => CheckpointType.Standard,
            _ => CheckpointType.Production,
        },
        Heartbeat = vm.Heartbeat,
        IntegrationServicesVersion = vm.IntegrationServicesVersion,
        IntegrationServicesState = vm.IntegrationServicesState,
        KernelPath = vm.Boot?.KernelPath ?? "",
        InitrdPath = vm.Boot?.InitrdPath ?? "",
        KernelCommandLine = vm.Boot?.KernelCommandLine ?? "",
        Backend = vm.Backend,
        WorkerProcessId = vm.WorkerPid,
        LastOffReason = vm.LastOffReason,
        GuestHostName = vm.GuestHostName,
        GuestOSName = vm.GuestOsName,
        GuestOSVersion = vm.GuestOsVersion,
    };

    public static HardDiskDrive ToObject(this V1.HardDiskDrive d, string computerName) => new()
    {
        ComputerName = computerName,
        VMName = d.VmName,
        VMId = ParseId(d.VmId),
        Name = d.Name,
        ControllerType = d.ControllerType == V1.ControllerType.Ide ? ControllerType.IDE : ControllerType.SCSI,
        ControllerNumber = d.ControllerNumber,
        ControllerLocation = d.ControllerLocation,
        Path = d.Path,
        ReadOnly = d.ReadOnly,
        MaximumIOPS = (ulong)d.MaximumIops,
        MinimumIOPS = (ulong)d.MinimumIops,
    };

    public static VMProcessor ToObject(this V1.VmProcessor p, string computerName) => new()
    {
        ComputerName = computerName,
        VMName = p.VmName,
        VMId = ParseId(p.VmId),
        Count = p.Count,
        Maximum = p.Maximum,
        Reserve = p.Reserve,
        RelativeWeight = p.RelativeWeight,
        ExposeVirtualizationExtensions = p.ExposeVirtualizationExtensions,
        EnableHostResourceProtection = p.EnableHostResourceProtection,
    };

    public static VMMemory ToObject(this V1.VmMemory m, string computerName) => new()
    {
        ComputerName = computerName,
        VMName = m.VmName,
        VMId = ParseId(m.VmId),
        Startup = m.StartupBytes,
        DynamicMemoryEnabled = m.DynamicMemoryEnabled,
        Minimum = m.MinimumBytes,
        Maximum = m.MaximumBytes,
        Buffer = m.Buffer,
        Priority = m.Priority,
        RuntimeResizeEnabled = m.RuntimeResizeEnabled,
        HotAddLimit = m.HotAddBytes,
    };

    public static VMHost ToObject(this V1.HostInfo h) => new()
    {
        ComputerName = h.ComputerName,
        LogicalProcessorCount = h.LogicalProcessorCount,
        MemoryCapacity = h.MemoryCapacityBytes,
        VirtualMachinePath = h.VirtualMachinePath,
        VirtualHardDiskPath = h.VirtualHardDiskPath,
        MaximumProcessorsPerVM = h.MaximumProcessorsPerVm,
        MaximumMemoryPerVM = h.MaximumMemoryPerVmBytes,
        NestedVirtualizationSupported = h.NestedVirtualizationSupported,
        DefaultBackend = h.DefaultBackend,
        BackendReason = h.BackendReason,
        Version = h.Version,
        VirtualMachineMigrationEnabled = h.VirtualMachineMigrationEnabled,
        VirtualMachineMigrationAuthenticationType = MigrationAuthenticationType.MutualTls,
        VirtualMachineMigrationPerformanceOption = h.VirtualMachineMigrationPerformanceOption == V1.MigrationPerformanceOption.Tcpip ? VMMigrationPerformance.TCPIP : VMMigrationPerformance.Compression,
        MaximumVirtualMachineMigrations = h.MaximumVirtualMachineMigrations,
        UseAnyNetworkForMigration = h.UseAnyNetworkForMigration,
    };

    public static VirtualHardDisk ToObject(this V1.VirtualHardDisk v) => new()
    {
        ComputerName = v.ComputerName,
        Path = v.Path,
        VhdFormat = v.VhdFormat switch
        {
            V1.VhdFormat.Vhd => VhdFormat.VHD,
            V1.VhdFormat.Vhdx => VhdFormat.VHDX,
            V1.VhdFormat.Raw => VhdFormat.Raw,
            _ => VhdFormat.Unknown,
        },
        VhdType = v.VhdType switch
        {
            V1.VhdType.Fixed => VhdType.Fixed,
            V1.VhdType.Dynamic => VhdType.Dynamic,
            V1.VhdType.Differencing => VhdType.Differencing,
            _ => VhdType.Unknown,
        },
        FileSize = (ulong)v.FileSize,
        Size = (ulong)v.Size,
        MinimumSize = v.MinimumSize > 0 ? (ulong)v.MinimumSize : null,
        LogicalSectorSize = (uint)v.LogicalSectorSize,
        PhysicalSectorSize = (uint)v.PhysicalSectorSize,
        BlockSize = (uint)v.BlockSize,
        ParentPath = v.ParentPath.Length == 0 ? null : v.ParentPath,
        DiskIdentifier = v.DiskIdentifier,
        FragmentationPercentage = null,
        Attached = v.Attached,
    };

    public static V1.ControllerType ToApi(this ControllerType type) =>
        type == ControllerType.IDE ? V1.ControllerType.Ide : V1.ControllerType.Scsi;

    public static V1.VhdType ToApi(this VhdType type) => type switch
    {
        VhdType.Fixed => V1.VhdType.Fixed,
        VhdType.Dynamic => V1.VhdType.Dynamic,
        VhdType.Differencing => V1.VhdType.Differencing,
        _ => V1.VhdType.Unspecified,
    };

    public static V1.AutomaticStartAction ToApi(this StartAction a) => a switch
    {
        StartAction.Start => V1.AutomaticStartAction.Start,
        StartAction.StartIfRunning => V1.AutomaticStartAction.StartIfRunning,
        _ => V1.AutomaticStartAction.Nothing,
    };

    public static V1.AutomaticStopAction ToApi(this StopAction a) => a switch
    {
        StopAction.TurnOff => V1.AutomaticStopAction.TurnOff,
        StopAction.ShutDown => V1.AutomaticStopAction.ShutDown,
        _ => V1.AutomaticStopAction.Save,
    };

    public static V1.CheckpointType ToApi(this CheckpointType c) => c switch
    {
        CheckpointType.Disabled => V1.CheckpointType.Disabled,
        CheckpointType.ProductionOnly => V1.CheckpointType.ProductionOnly,
        CheckpointType.Standard => V1.CheckpointType.Standard,
        _ => V1.CheckpointType.Production,
    };

    public static V1.OptimizeMode ToApi(this VhdCompactMode m) => m switch
    {
        VhdCompactMode.Quick => V1.OptimizeMode.Quick,
        VhdCompactMode.Retrim => V1.OptimizeMode.Retrim,
        VhdCompactMode.Pretrimmed => V1.OptimizeMode.Pretrimmed,
        VhdCompactMode.Prezeroed => V1.OptimizeMode.Prezeroed,
        _ => V1.OptimizeMode.Full,
    };

    internal static Guid ParseId(string id) => Guid.TryParse(id, out var g) ? g : Guid.Empty;
}
