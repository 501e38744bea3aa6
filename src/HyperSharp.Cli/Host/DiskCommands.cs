using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>`hyper vm disk add|remove|list|set`: Add-/Remove-/Get-/Set-VMHardDiskDrive (SCSI drives also while the VM runs).</summary>
internal static class DiskCommands
{
    public static Command Create(CliContext context)
    {
        var disk = new Command("disk", "A VM's hard disk drives");
        disk.Subcommands.Add(Add(context));
        disk.Subcommands.Add(Remove(context));
        disk.Subcommands.Add(List(context));
        disk.Subcommands.Add(Set(context));
        return disk;
    }

    private static Option<ControllerType> Controller() => new("--controller") { Description = "Scsi (default; changeable while running) or Ide (VM off only)", DefaultValueFactory = _ => ControllerType.Scsi };

    private static Command Add(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var path = new Argument<string>("path") { Description = "The disk image (VHDX, VHD or raw)" };
        var controller = Controller();
        var number = new Option<int>("--controller-number") { Description = "Controller number (default 0)" };
        var location = new Option<int?>("--location") { Description = "Location on the controller (default: the first free one)" };
        var readOnly = new Option<bool>("--read-only") { Description = "Attach read-only" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("add", "Attach a disk to a VM (Add-VMHardDiskDrive)") { name, path, controller, number, location, readOnly, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new AddHardDiskDriveRequest
            {
                Vm = HostClient.Ref(result.GetValue(name)!), Path = ManagedVmCommands.FullPath(result.GetValue(path)),
                ControllerType = result.GetValue(controller), ControllerNumber = result.GetValue(number), ReadOnly = result.GetValue(readOnly),
            };
            if (result.GetValue(location) is int l) request.ControllerLocation = l;
            var drive = await client.AddHardDiskDriveAsync(request).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(drive));
            else context.Out.WriteLine($"{drive.VmName}: {drive.Name}: {drive.Path}");
            return 0;
        }));
        return command;
    }

    private static Command Remove(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var controller = Controller();
        var number = new Option<int>("--controller-number") { Description = "Controller number (default 0)" };
        var location = new Option<int>("--location") { Description = "Location on the controller", Required = true };
        var socket = HostClient.SocketOption();
        var command = new Command("remove", "Detach a disk from a VM; the image stays (Remove-VMHardDiskDrive)") { name, controller, number, location, socket };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            await client.RemoveHardDiskDriveAsync(new RemoveHardDiskDriveRequest
            {
                Vm = HostClient.Ref(result.GetValue(name)!), ControllerType = result.GetValue(controller),
                ControllerNumber = result.GetValue(number), ControllerLocation = result.GetValue(location),
            }).ResponseAsync.ConfigureAwait(false);
            context.Out.WriteLine($"{result.GetValue(name)}: drive removed");
            return 0;
        }));
        return command;
    }

    private static Command List(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("list", "A VM's drives (Get-VMHardDiskDrive)") { name, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var response = await client.ListHardDiskDrivesAsync(HostClient.Ref(result.GetValue(name)!)).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(response));
            else VmPrinter.Drives(context.Out, response.Drives);
            return 0;
        }));
        return command;
    }

    private static Command Set(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var controller = Controller();
        var number = new Option<int>("--controller-number") { Description = "Controller number (default 0)" };
        var location = new Option<int>("--location") { Description = "Location on the controller", Required = true };
        var maximum = new Option<long?>("--maximum-iops") { Description = "Storage QoS: the most normalized IOPS (8 KiB units); 0 for no limit" };
        var minimum = new Option<long?>("--minimum-iops") { Description = "Storage QoS: alert when a busy drive gets fewer; 0 for none" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("set", "Change a drive's Storage QoS, also while the VM runs (Set-VMHardDiskDrive)") { name, controller, number, location, maximum, minimum, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new SetHardDiskDriveRequest
            {
                Vm = HostClient.Ref(result.GetValue(name)!), ControllerType = result.GetValue(controller),
                ControllerNumber = result.GetValue(number), ControllerLocation = result.GetValue(location),
            };
            if (result.GetValue(maximum) is long max) request.MaximumIops = max;
            if (result.GetValue(minimum) is long min) request.MinimumIops = min;
            var drive = await client.SetHardDiskDriveAsync(request).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(drive));
            else context.Out.WriteLine($"{drive.VmName}: {drive.Name}: maximum {Iops(drive.MaximumIops)}, minimum {Iops(drive.MinimumIops)}");
            return 0;
        }));
        return command;
    }

    private static string Iops(long iops) => iops == 0 ? "none" : $"{iops} IOPS";
}
