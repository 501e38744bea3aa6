using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>A VM as the API shows it (Get-VM's object), with live figures from its worker and /proc.</summary>
public static class VmProjection
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The API's state for the lifecycle's: the same numbers by design (<see cref="PowerState"/>).</summary>
    public static VmState State(PowerState state) => (VmState)(int)state;

    /// <summary>Hyper-V's name for the API's state (<see cref="StateNames"/>).</summary>
    public static string StateName(VmState state) => StateNames.Of((PowerState)(int)state);

    /// <summary>WatchEvents' message for one event of the host's feed.</summary>
    public static VmEvent Event(VmChange e) => new()
    {
        TimeUnixMs = e.TimeUnixMs, VmId = e.VmId.ToString("D"), VmName = e.VmName, Kind = (VmEventKind)(int)e.Kind,
        OldState = State(e.OldState), NewState = State(e.NewState), Message = e.Message,
    };

    public static async Task<Vm> ToVmAsync(ManagedVm vm, Network.SwitchManager switches, CancellationToken cancellationToken)
    {
        var c = vm.Config;
        var result = new Vm
        {
            Id = c.Id.ToString("D"), Name = c.Name, State = State(vm.State), Generation = c.Generation,
            Version = $"{c.Version}.0", Path = vm.Folder.Location, Notes = c.Notes, CreationTimeUnixMs = c.CreationTimeUnixMs,
            ProcessorCount = c.Processor.Count, MemoryStartupBytes = c.Memory.StartupBytes, Status = vm.Status,
            Boot = new BootSource { KernelPath = c.Boot.KernelPath, InitrdPath = c.Boot.InitrdPath ?? "", KernelCommandLine = c.Boot.CommandLine, Firmware = c.Boot.Firmware },
            AutomaticStartAction = c.AutomaticStartAction, AutomaticStartDelaySeconds = c.AutomaticStartDelaySeconds,
            AutomaticStopAction = c.AutomaticStopAction, CheckpointType = c.CheckpointType, Backend = c.Backend,
            WorkerPid = Math.Max(vm.WorkerPid, 0), LastOffReason = vm.Runtime.LastOffReason,
        };
        foreach (var d in c.Disks) result.HardDrives.Add(Drive(vm, d));
        int pid = vm.WorkerPid;
        if (pid > 0 && vm.State is PowerState.Running or PowerState.Paused or PowerState.Pausing or PowerState.Resuming or PowerState.Resetting)
        {
            result.CpuUsagePercent = CpuUsage(vm, pid);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(StatusTimeout);
                var status = await vm.Worker.SendAsync(new WorkerRequest { Op = WorkerOps.Status }, timeout.Token).ConfigureAwait(false);
                result.MemoryAssignedBytes = status.MemoryAssignedBytes;
                result.MemoryDemandBytes = status.MemoryDemandBytes;
                result.MemoryTouchedBytes = status.MemoryTouchedBytes;
                result.MemoryStatus = HyperSharp.Host.Service.Memory.MemoryStatus.Of(c.Memory, status.MemoryAssignedBytes, status.MemoryDemandBytes);
                result.UptimeMs = status.UptimeMs;
                vm.Adapters = status.Adapters;
            }
            catch (Exception e) when (e is WorkerException or OperationCanceledException or IOException)
            {
                result.Status = $"The worker does not answer: {e.Message}";
                result.UptimeMs = Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - vm.Runtime.StartedAtUnixMs);
            }
        }
        foreach (var a in c.NetworkAdapters) result.NetworkAdapters.Add(Network.NetworkProjection.Adapter(vm, a, switches));
        IntegrationProjection.Fill(result, vm);
        return result;
    }

    /// <summary>Percent of the host's logical processors the worker used since the last look (its lifetime at the first).</summary>
    private static double CpuUsage(ManagedVm vm, int pid)
    {
        if (ProcessProbe.CpuTime(pid) is not TimeSpan cpu) return 0;
        long now = Environment.TickCount64;
        var previous = vm.CpuSample;
        vm.CpuSample = (now, cpu);
        double wallMs, cpuMs;
        if (previous is { } p && now - p.Ticks >= 100) { wallMs = now - p.Ticks; cpuMs = (cpu - p.Cpu).TotalMilliseconds; }
        else
        {
            wallMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - vm.Runtime.StartedAtUnixMs;
            cpuMs = cpu.TotalMilliseconds;
        }
        if (wallMs <= 0) return 0;
        return Math.Round(Math.Clamp(cpuMs / wallMs / Environment.ProcessorCount * 100, 0, 100), 1);
    }

    public static HardDiskDrive Drive(ManagedVm vm, DiskSettings d) => new()
    {
        VmId = vm.Id.ToString("D"), VmName = vm.Name, ControllerType = d.ControllerType, ControllerNumber = d.ControllerNumber,
        ControllerLocation = d.ControllerLocation, Path = d.Path, ReadOnly = d.ReadOnly,
        Name = d.DriveName(), MaximumIops = d.MaximumIops, MinimumIops = d.MinimumIops,
    };

    public static VmProcessor Processor(ManagedVm vm)
    {
        var p = vm.Config.Processor;
        return new VmProcessor
        {
            VmId = vm.Id.ToString("D"), VmName = vm.Name, Count = p.Count, Maximum = p.Maximum, Reserve = p.Reserve,
            RelativeWeight = p.RelativeWeight, ExposeVirtualizationExtensions = p.ExposeVirtualizationExtensions,
            EnableHostResourceProtection = p.EnableHostResourceProtection,
        };
    }

    public static VmMemory Memory(ManagedVm vm)
    {
        var m = vm.Config.Memory;
        return new VmMemory
        {
            VmId = vm.Id.ToString("D"), VmName = vm.Name, StartupBytes = m.StartupBytes, DynamicMemoryEnabled = m.DynamicMemoryEnabled,
            MinimumBytes = m.MinimumBytes, MaximumBytes = m.MaximumBytes, Buffer = m.Buffer, Priority = m.Priority,
            RuntimeResizeEnabled = m.RuntimeResize, HotAddBytes = m.HotAddBytes(),
        };
    }
}
