using HyperSharp.Api.V1;
using VmInfo = HyperSharp.Api.V1.Vm;

namespace HyperSharp.Cli.Host;

/// <summary>VMs as text: Get-VM's table for lists, one field a line for one VM.</summary>
internal static class VmPrinter
{
    public static void Table(TextWriter o, IEnumerable<VmInfo> vms)
    {
        o.WriteLine($"{"Name",-24} {"State",-9} {"CPUUsage(%)",11} {"MemoryAssigned(M)",17} {"Uptime",-16} Status");
        o.WriteLine($"{"----",-24} {"-----",-9} {"-----------",11} {"-----------------",17} {"------",-16} ------");
        foreach (var vm in vms)
            o.WriteLine($"{vm.Name,-24} {vm.State,-9} {vm.CpuUsagePercent,11:0} {vm.MemoryAssignedBytes >> 20,17} {Uptime(vm.UptimeMs),-16} {vm.Status}");
    }

    public static void Details(TextWriter o, VmInfo vm)
    {
        o.WriteLine($"Name:                 {vm.Name}");
        o.WriteLine($"Id:                   {vm.Id}");
        o.WriteLine($"State:                {vm.State}");
        o.WriteLine($"Status:               {vm.Status}");
        o.WriteLine($"Generation:           {vm.Generation}");
        o.WriteLine($"Processors:           {vm.ProcessorCount}");
        o.WriteLine($"Memory (startup):     {SizeParser.Format(vm.MemoryStartupBytes)}");
        o.WriteLine($"Memory (assigned):    {SizeParser.Format(vm.MemoryAssignedBytes)}");
        if (vm.MemoryDemandBytes > 0) o.WriteLine($"Memory (demand):      {SizeParser.Format(vm.MemoryDemandBytes)}");
        if (vm.MemoryStatus.Length > 0) o.WriteLine($"Memory status:        {vm.MemoryStatus}");
        o.WriteLine($"CPU usage:            {vm.CpuUsagePercent:0.#} %");
        o.WriteLine($"Uptime:               {Uptime(vm.UptimeMs)}");
        o.WriteLine($"Backend:              {vm.Backend}");
        o.WriteLine($"Kernel:               {vm.Boot?.KernelPath}");
        if (!string.IsNullOrEmpty(vm.Boot?.Firmware)) o.WriteLine($"Firmware:             {vm.Boot.Firmware}");
        if (!string.IsNullOrEmpty(vm.Boot?.InitrdPath)) o.WriteLine($"Initrd:               {vm.Boot.InitrdPath}");
        o.WriteLine($"Command line:         {vm.Boot?.KernelCommandLine}");
        foreach (var d in vm.HardDrives) o.WriteLine($"Disk:                 {d.ControllerType} {d.ControllerNumber}:{d.ControllerLocation} {d.Path}{(d.ReadOnly ? " (read-only)" : "")}");
        foreach (var a in vm.NetworkAdapters)
            o.WriteLine($"Network adapter:      {a.Name} {a.MacAddress} {(a.SwitchName.Length > 0 ? "on " + a.SwitchName : "not connected")}{(a.AccessVlanId > 0 ? $" VLAN {a.AccessVlanId}" : "")}"
                + (a.IpAddresses.Count > 0 ? $" {string.Join(", ", a.IpAddresses)}" : ""));
        if (vm.Heartbeat.Length > 0) o.WriteLine($"Heartbeat:            {vm.Heartbeat}");
        string guestOs = $"{vm.GuestOsName} {vm.GuestOsVersion}".Trim();
        if (vm.GuestHostName.Length > 0) o.WriteLine($"Guest:                {vm.GuestHostName}{(guestOs.Length > 0 ? $" ({guestOs})" : "")}");
        if (vm.IntegrationServicesVersion.Length > 0)
            o.WriteLine($"Integration services: {vm.IntegrationServicesVersion} ({vm.IntegrationServicesState})");
            if (vm.GuestActivation.Length > 0) o.WriteLine($"Guest activation:     {vm.GuestActivation}");
        o.WriteLine($"Automatic start:      {vm.AutomaticStartAction} (delay {vm.AutomaticStartDelaySeconds} s)");
        o.WriteLine($"Automatic stop:       {vm.AutomaticStopAction}");
        o.WriteLine($"Checkpoint type:      {vm.CheckpointType}");
        if (vm.WorkerPid != 0) o.WriteLine($"Worker PID:           {vm.WorkerPid}");
        if (!string.IsNullOrEmpty(vm.LastOffReason)) o.WriteLine($"Last off reason:      {vm.LastOffReason}");
        if (!string.IsNullOrEmpty(vm.Notes)) o.WriteLine($"Notes:                {vm.Notes}");
        o.WriteLine($"Path:                 {vm.Path}");
    }

    public static void Drives(TextWriter o, IEnumerable<HardDiskDrive> drives)
    {
        o.WriteLine($"{"ControllerType",-14} {"Number",6} {"Location",8} Path");
        foreach (var d in drives) o.WriteLine($"{d.ControllerType,-14} {d.ControllerNumber,6} {d.ControllerLocation,8} {d.Path}");
    }

    private static string Uptime(long ms) => ms == 0 ? "00:00:00" : TimeSpan.FromMilliseconds(ms).ToString(@"d\.hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture);
}
