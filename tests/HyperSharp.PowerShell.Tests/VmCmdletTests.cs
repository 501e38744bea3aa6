using System.Management.Automation;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>The VM cmdlets against a real host whose workers run a small guest on the Emulated backend.</summary>
public sealed class VmCmdletTests(ITestOutputHelper output) : HostedSession
{
    [Fact]
    public async Task An_admin_creates_configures_starts_stops_and_removes_VMs()
    {
        string kernel = Host.IdleGuest();
        var created = (await Ps.RunAsync($$"""
            New-VM -Name web01 -MemoryStartupBytes 64MB -NewVHDPath web01.vhdx -NewVHDSizeBytes 1GB -KernelPath '{{kernel}}' -Backend emulated | Out-Null
            New-VM -Name web02 -MemoryStartupBytes 64MB -KernelPath '{{kernel}}' -Backend emulated | Out-Null
            Set-VMProcessor -VMName web01 -Count 2
            Set-VMMemory -VMName web01 -StartupBytes 96MB
            Get-VMProcessor web01 | Set-VMProcessor -RelativeWeight 200
            Set-VM -Name web01 -Notes 'front end'
            Get-VM -Name web*
            """)).Ok().Select(o => (VirtualMachine)o.BaseObject).ToList();
        Assert.Equal(["web01", "web02"], created.Select(v => v.Name));
        var web01 = created[0];
        Assert.Equal((VMState.Off, 2, 96L << 20, "front end"), (web01.State, web01.ProcessorCount, web01.MemoryStartup, web01.Notes));
        var drive = Assert.Single(web01.HardDrives);
        Assert.Equal(Path.Combine(Host.Disks, "web01.vhdx"), drive.Path);
        Assert.True(File.Exists(drive.Path));
        var processor = (VMProcessor)Assert.Single((await Ps.RunAsync("Get-VMProcessor web01")).Ok()).BaseObject;
        Assert.Equal((2L, 200), (processor.Count, processor.RelativeWeight));

        // Dynamic memory settings are kept (the host's balancer acts on them while the VM runs).
        var dynamic = await Ps.RunAsync("Set-VMMemory web02 -DynamicMemoryEnabled $true -MinimumBytes 32MB -MaximumBytes 128MB -Passthru");
        Assert.Empty(dynamic.Warnings);
        var memory = (VMMemory)Assert.Single(dynamic.Ok()).BaseObject;
        Assert.Equal((true, 32L << 20, 128L << 20), (memory.DynamicMemoryEnabled, memory.Minimum, memory.Maximum));

        // Get-VM piped into Start-VM, as admins do; the table is Hyper-V's.
        var start = await Ps.RunAsync("Get-VM web* | Start-VM -Passthru");
        if (start.Errors.Count > 0) output.WriteLine(Host.WorkerLogs());
        var started = start.Ok().Select(o => (VirtualMachine)o.BaseObject).ToList();
        Assert.All(started, v => Assert.Equal(VMState.Running, v.State));
        Assert.All(started, v => Assert.True(v.WorkerProcessId > 0));
        string table = string.Concat((await Ps.RunAsync("Get-VM | Out-String -Width 200")).Ok().Select(o => o.BaseObject));
        output.WriteLine(table);
        var header = table.Split('\n').Select(l => l.Trim()).First(l => l.Length > 0);
        Assert.Matches(@"^Name\s+State\s+CPUUsage\(%\)\s+MemoryAssigned\(M\)\s+Uptime\s+Status\s+Version$", header);
        Assert.Contains("Running", table);

        // A running VM's worker holds its disk locked: Get-VHD asks that worker, which describes the disk as it has it.
        var inUse = (HyperSharp.PowerShell.VirtualHardDisk)Assert.Single((await Ps.RunAsync("Get-VHD web01.vhdx")).Ok()).BaseObject;
        Assert.Equal((1UL << 30, true), (inUse.Size, inUse.Attached));

        // Changing the processor count of a running VM is refused (InvalidOperation), the other VM is still stopped.
        var refused = await Ps.RunAsync("Set-VMProcessor web01 -Count 4");
        Assert.Equal(ErrorCategory.InvalidOperation, Assert.Single(refused.Errors).CategoryInfo.Category);
        // So is growing a running VM that started without runtime resize; Get-VM shows MemoryStatus for dynamic memory only.
        var grow = Assert.Single((await Ps.RunAsync("Set-VMMemory web01 -StartupBytes 128MB")).Errors);
        Assert.Contains("without hot-add memory", grow.Exception.Message);
        var status = (await Ps.RunAsync("Get-VM web01, web02 | ForEach-Object { \"$($_.Name) $($_.MemoryAssigned / 1MB) [$($_.MemoryStatus)]\" }")).Ok().Select(o => o.BaseObject).ToList();
        Assert.Equal(["web01 96 []", "web02 64 [OK]"], status);

        var stopped = (await Ps.RunAsync("Stop-VM -Name web01, nosuchvm, web02 -TurnOff -Passthru")).Output.Select(o => (VirtualMachine)o.BaseObject).ToList();
        Assert.Equal(["web01", "web02"], stopped.Select(v => v.Name));
        Assert.All(stopped, v => Assert.Equal(VMState.Off, v.State));
        var protection = await Ps.RunAsync("Set-VMProcessor web02 -EnableHostResourceProtection $true; (Get-VMProcessor web02).EnableHostResourceProtection");
        Assert.Equal(true, Assert.Single(protection.Ok()).BaseObject);

        // A SCSI disk added to and removed from a VM (Off: this build has no PCI hotplug yet); Get-VHD sees it attached meanwhile.
        var hotplug = (await Ps.RunAsync("""
            New-VHD data.vhdx 256MB | Out-Null
            $drive = Add-VMHardDiskDrive -VMName web02 -Path data.vhdx -Passthru
            "$($drive.ControllerType) $($drive.ControllerNumber):$($drive.ControllerLocation)"
            (Get-VHD data.vhdx).Attached
            (Get-VM web02 | Get-VHD).Path
            Set-VMHardDiskDrive web02 SCSI 0 0 -MaximumIOPS 500 -MinimumIOPS 100
            $qos = Get-VMHardDiskDrive web02 -ControllerType SCSI | Set-VMHardDiskDrive -MinimumIOPS 0 -Passthru
            "$($qos.MaximumIOPS)/$($qos.MinimumIOPS)"
            """)).Ok().Select(o => o.BaseObject).ToList();
        Assert.Equal(["SCSI 0:0", true, Path.Combine(Host.Disks, "data.vhdx"), "500/0"], hotplug);
        // Storage QoS as Hyper-V checks it: a maximum below the minimum is refused with the reason.
        var qosRefused = Assert.Single((await Ps.RunAsync("Get-VMHardDiskDrive web02 | Set-VMHardDiskDrive -MaximumIOPS 10 -MinimumIOPS 20")).Errors);
        Assert.Contains("must not be below the minimum", qosRefused.Exception.Message);
        var removed = (await Ps.RunAsync("""
            Get-VMHardDiskDrive web02 -ControllerType SCSI | Remove-VMHardDiskDrive
            @(Get-VMHardDiskDrive web02).Count
            (Get-VHD data.vhdx).Attached
            """)).Ok().Select(o => o.BaseObject).ToList();
        Assert.Equal([0, false], removed);

        var whatIf = await Ps.RunAsync("Remove-VM web01 -WhatIf; (Get-VM).Count");
        Assert.Equal(2, Assert.Single(whatIf.Ok()).BaseObject);
        var remaining = await Ps.RunAsync("Get-VM | Remove-VM -Force; @(Get-VM).Count");
        Assert.Equal(0, Assert.Single(remaining.Ok()).BaseObject);
        Assert.True(File.Exists(drive.Path), "Remove-VM keeps the disks, as Hyper-V does");

        var notFound = Assert.Single((await Ps.RunAsync("Start-VM nosuchvm")).Errors);
        Assert.Equal(ErrorCategory.ObjectNotFound, notFound.CategoryInfo.Category);
    }
}
